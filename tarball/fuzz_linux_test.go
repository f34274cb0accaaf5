package tarball

import (
	"bytes"
	"testing"
)

// FuzzExtract feeds arbitrary bytes to Extract as a layer. Whatever they
// hold, Extract must not panic and must not write outside the layer.
//
//	go test -run='^$' -fuzz=FuzzExtract -fuzztime=30s -fuzzminimizetime=100x ./tarball
//
// Bound the minimization: when Extract stops early, where its goroutines
// were decides part of the coverage, and the fuzzer would otherwise spend
// its time minimizing inputs whose new coverage it cannot reproduce.
func FuzzExtract(f *testing.F) {
	f.Add(buildTar(f,
		dirEntry("d/"),
		fileEntry("d/f", "data"),
		symlinkEntry("d/up", "../../.."),
		fileEntry("d/up/x", "y"),
	))
	f.Add(buildTar(f,
		symlinkEntry("s", "../sentinel"),
		hardlinkEntry("h", "s"),
		hardlinkEntry("h2", "../sentinel"),
		fileEntry("/abs", "a"),
	))
	f.Add(buildTar(f,
		fileEntry(".wh.gone", ""),
		fileEntry("d/.wh..wh..opq", ""),
		fileEntry("d/.wh...", ""),
	))
	f.Add(compress(f, buildTar(f, fileEntry("gz", "compressed")), Gzip))
	f.Add(compress(f, buildTar(f, fileEntry("zst", "compressed")), Zstd))

	f.Fuzz(func(t *testing.T, layer []byte) {
		sb := newSandbox(t)
		Extract(bytes.NewReader(layer), sb.dir, ExtractOptions{})
		sb.checkContained(t, "")
	})
}
