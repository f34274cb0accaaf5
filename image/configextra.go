package image

import (
	"encoding/json"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// marshalConfig encodes an image config. extra holds run-config fields that
// the OCI types lack but Docker writes (Healthcheck, OnBuild, Shell); they
// join the "config" object, so that the config reads as Docker's does.
// Without extra the encoding is exactly json.Marshal's.
func marshalConfig(config ocispec.Image, extra map[string]json.RawMessage) ([]byte, error) {
	if len(extra) == 0 {
		return json.Marshal(config)
	}
	run, err := json.Marshal(config.Config)
	if err != nil {
		return nil, err
	}
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(run, &fields); err != nil {
		return nil, err
	}
	for k, v := range extra {
		fields[k] = v
	}

	// The outer Config field hides the embedded one: encoding/json takes
	// the shallower of two fields with the same name.
	withExtra := struct {
		ocispec.Image
		Config map[string]json.RawMessage `json:"config,omitempty"`
	}{config, fields}
	return json.Marshal(withExtra)
}
