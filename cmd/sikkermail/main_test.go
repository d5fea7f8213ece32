package main

import (
	"os"
	"testing"

	"github.com/BurntSushi/toml"

	"sikkermail/ui"
)

// TestFyneAppMetadata checks that FyneApp.toml names the same application ID
// the code passes to app.NewWithID, and an icon that exists.
func TestFyneAppMetadata(t *testing.T) {
	var meta struct {
		Details struct {
			ID, Name, Icon, Version string
		}
	}
	if _, err := toml.DecodeFile("FyneApp.toml", &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Details.ID != ui.AppID {
		t.Errorf("FyneApp.toml ID %q, code uses %q", meta.Details.ID, ui.AppID)
	}
	if _, err := os.Stat(meta.Details.Icon); err != nil {
		t.Errorf("icon: %v", err)
	}
	if meta.Details.Name == "" || meta.Details.Version == "" {
		t.Errorf("Name %q, Version %q: both must be set", meta.Details.Name, meta.Details.Version)
	}
}
