// Package registry is skiff's client of the distribution protocol: how
// `skiff pull` and `skiff push` talk HTTP to Docker Hub, GHCR, Quay or a
// registry on your own machine, and how `skiff login` and `skiff search`
// work.
//
// The protocol is the OCI distribution spec,
// https://github.com/opencontainers/distribution-spec/blob/main/spec.md,
// plus Docker's token authentication,
// https://distribution.github.io/distribution/spec/auth/token/. Each step
// below can be typed with curl against a local registry (Debian's
// docker-registry package: `docker-registry serve config.yml`, listening
// on 127.0.0.1:5000 without authentication).
//
// # 1. Reference to URL
//
// A reference is normalized first (see [image.ParseReference]): busybox is
// docker.io/library/busybox:latest. The domain names the registry; docker.io
// is served at registry-1.docker.io. Every URL starts with /v2/ and the
// repository path:
//
//	https://registry-1.docker.io/v2/library/busybox/manifests/latest
//
// HTTPS is used, with the system's trusted roots plus, as Docker does, the
// certificates in /etc/docker/certs.d/HOST:PORT/ (ca.crt, and client.cert
// with client.key for a client certificate). Plain HTTP, and HTTPS without
// checking the certificate, are tried only for loopback addresses,
// localhost, and registries named with `skiff --insecure-registry
// HOST:PORT` or in skiff's settings file, /etc/skiff/config.json (or the
// file $SKIFF_CONFIG names), in the words of Docker's daemon.json:
//
//	{"insecure-registries": ["myregistry:5000", "10.0.0.0/8"]}
//
// # 2. Ping and the authentication challenge
//
// The first request asks whether the server speaks the protocol and what
// it wants:
//
//	curl -i http://127.0.0.1:5000/v2/
//	HTTP/1.1 200 OK                  (no authentication), or
//	HTTP/1.1 401 Unauthorized
//	WWW-Authenticate: Bearer realm="https://auth.docker.io/token",service="registry.docker.io"
//
// [ParseChallenges] reads that header. "Basic" means: send the user name
// and password on every request (curl -u alice:secret). "Bearer" means:
// get a token from the realm first.
//
// # 3. A token
//
// The client asks the realm for the scope it needs, with the user's
// credentials as Basic auth if it has any, anonymously otherwise:
//
//	curl 'https://auth.docker.io/token?service=registry.docker.io'\
//	'&scope=repository:library/busybox:pull'
//	{"token":"eyJhbGciOi...","expires_in":300,"issued_at":"..."}
//
// and sends it as "Authorization: Bearer <token>" until it expires. A push
// asks for repository:NAME:pull,push; a search of a catalog for
// registry:catalog:*. Credentials come from Docker's config file
// ([ConfigFile]): base64 of user:password under "auths", or a credential
// helper program (docker-credential-NAME get).
//
// # 4. The manifest, negotiated
//
// A manifest comes in several formats; the Accept header lists those the
// client reads, and the registry answers with one of them:
//
//	curl -H 'Accept: application/vnd.oci.image.index.v1+json' \
//	     -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
//	     -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
//	     -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
//	     -i http://127.0.0.1:5000/v2/busybox/manifests/latest
//
// An index (OCI) or manifest list (Docker) names one manifest per
// platform; the client picks linux/amd64 (or --platform) and fetches that
// manifest by its digest. The manifest's own digest is the sha256 of its
// bytes exactly as sent, which is why skiff stores them unchanged. It is
// checked against the digest asked for, the index's descriptor and the
// Docker-Content-Digest header. Docker's schema 1 is refused.
//
// # 5. Blobs
//
// The config and each layer are blobs, fetched by digest:
//
//	curl -L http://127.0.0.1:5000/v2/busybox/blobs/sha256:<config digest>
//
// A registry will happily serve a manifest that lies, so every blob is
// checked while it streams: never more bytes than its descriptor's size,
// and the digest at the end. Each layer is unpacked as it arrives, and its
// uncompressed digest checked against the config's rootfs.diff_ids (one
// per layer, no more, no fewer). Layers come three at a time. A transfer
// that breaks is asked again from where it stopped with
// "Range: bytes=N-"; the bytes before and after are hashed as one stream.
// Only when everything checked out is the image named in the store.
//
// # 6. Uploads
//
// A push sends each blob the registry lacks, then the manifest:
//
//	curl -I http://127.0.0.1:5000/v2/app/blobs/sha256:<digest>     # 200: has it
//	curl -i -X POST \
//	  'http://127.0.0.1:5000/v2/app/blobs/uploads/?mount=sha256:<digest>&from=other'
//	curl -i -X POST http://127.0.0.1:5000/v2/app/blobs/uploads/    # 202, Location: <session>
//	curl -X PUT -H 'Content-Type: application/octet-stream' \
//	     --data-binary @layer.tar.gz '<session>&digest=sha256:<digest>'  # 201
//	curl -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
//	     --data-binary @manifest.json http://127.0.0.1:5000/v2/app/manifests/latest
//
// The mount (201 Created) links a blob that another repository of the same
// registry holds, so it is not sent again; 202 means the registry would
// not, and opened an upload session instead. Large blobs may go in chunks:
// PATCH <session> with Content-Range, then the closing PUT.
//
// # 7. Search
//
// Docker Hub has a search API (GET https://index.docker.io/v1/search?q=TERM);
// the distribution spec has none, so for other registries the catalog
// (GET /v2/_catalog, page by page through Link headers) is filtered.
//
// # Limitations
//
//   - A pulled index is not stored: the image is stored under its
//     platform's manifest digest, and `Digest:` shows the index digest as
//     Docker does. A pull by digest names no tag (Docker records a
//     "repo digest" for it).
//   - Cross-repository mounts are tried from repositories the store's tags
//     name on the same registry; Docker also remembers where each blob
//     came from.
//   - An identity token (OAuth refresh token) is sent to the realm as
//     Basic auth; Docker trades it with an OAuth2 POST, which some
//     registries require.
//   - "Already exists" needs the layer and its blob in the store; a layer
//     stored with a different compression is downloaded again.
//   - A broken push restarts the blob's upload; Docker resumes an upload
//     session from its last offset.
//   - Foreign layers are fetched from their URLs first, then from the
//     registry, as any other blob, and stored; Docker on Linux fetches
//     them from the registry.
package registry
