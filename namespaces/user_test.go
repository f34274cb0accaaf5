package namespaces

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const testPasswd = `# a comment
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
broken:x:notanumber:1:::
short:x
+nisuser::::
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
nohome:x:1500:1500
`

const testGroup = `root:x:0:
wheel:x:10:root,app
app:x:1000:
extra:x:1001:app,nobody
bad:x:gid:app
nogroup:x:65534:
`

func TestParsePasswd(t *testing.T) {
	want := []passwdEntry{
		{name: "root", uid: 0, gid: 0, home: "/root"},
		{name: "app", uid: 1000, gid: 1000, home: "/home/app"},
		{name: "nobody", uid: 65534, gid: 65534, home: "/nonexistent"},
		{name: "nohome", uid: 1500, gid: 1500},
	}
	got := parsePasswd([]byte(testPasswd))
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(passwdEntry{})); diff != "" {
		t.Errorf("parsePasswd() mismatch (-want +got):\n%s", diff)
	}
}

func TestResolveUser(t *testing.T) {
	passwd := parsePasswd([]byte(testPasswd))
	group := parseGroup([]byte(testGroup))
	tests := []struct {
		spec    string
		want    User
		wantErr error
	}{
		{spec: "", want: User{UID: 0, GID: 0, AdditionalGIDs: []uint32{10}, Home: "/root"}},
		{spec: "root", want: User{AdditionalGIDs: []uint32{10}, Home: "/root"}},
		{spec: "app", want: User{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{10, 1001},
			Home: "/home/app"}},
		{spec: "1000", want: User{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{10, 1001},
			Home: "/home/app"}},
		{spec: "app:extra", want: User{UID: 1000, GID: 1001, Home: "/home/app"}},
		{spec: "app:4000", want: User{UID: 1000, GID: 4000, Home: "/home/app"}},
		{spec: "1000:1000", want: User{UID: 1000, GID: 1000, Home: "/home/app"}},
		{spec: "4242", want: User{UID: 4242, GID: 0, Home: "/"}},
		{spec: "4242:nogroup", want: User{UID: 4242, GID: 65534, Home: "/"}},
		{spec: "nohome", want: User{UID: 1500, GID: 1500, Home: "/"}},
		{spec: "nobody", want: User{UID: 65534, GID: 65534, AdditionalGIDs: []uint32{1001},
			Home: "/nonexistent"}},
		{spec: "ghost", wantErr: ErrNoSuchUser},
		{spec: "app:ghost", wantErr: ErrNoSuchGroup},
		{spec: "4294967295", wantErr: ErrNoSuchUser},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := resolveUser(tt.spec, passwd, group)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("resolveUser(%q) error = %v, want %v", tt.spec, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("resolveUser(%q) mismatch (-want +got):\n%s", tt.spec, diff)
			}
		})
	}
}

func TestResolveUserWithoutFiles(t *testing.T) {
	got, err := resolveUser("1234:5678", nil, nil)
	want := User{UID: 1234, GID: 5678, Home: "/"}
	if err != nil || !cmp.Equal(got, want) {
		t.Errorf("resolveUser(%q) = %+v, %v, want %+v, nil", "1234:5678", got, err, want)
	}
}
