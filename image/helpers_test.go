package image

import (
	"encoding/json"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var zeroDesc ocispec.Descriptor

func historyStep(createdBy string) ocispec.History {
	now := time.Now().UTC()
	return ocispec.History{Created: &now, CreatedBy: createdBy}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func sleepBriefly() { time.Sleep(5 * time.Millisecond) }
