package container

import "testing"

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"web": true, "/web": true, "w": true, "web_1.a-b": true, "9lives": true, "Web": true,
		"": false, "/": false, "//web": false, "_web": false, ".web": false, "-web": false,
		"we b": false, "web/1": false, "wéb": false, "web:1": false,
	} {
		if got := validName(name); got != want {
			t.Errorf("validName(%q) = %v, want %v", name, got, want)
		}
	}
}
