package i18n

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestCatalogue checks that both languages define the same keys, that every
// text renders, and that every key the code names exists.
func TestCatalogue(t *testing.T) {
	da, err := Keys(Danish)
	if err != nil {
		t.Fatal(err)
	}
	en, err := Keys(English)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(da)
	slices.Sort(en)
	for _, k := range da {
		if !English.Has(k) {
			t.Errorf("key %q is in da.json but not en.json", k)
		}
	}
	for _, k := range en {
		if !Danish.Has(k) {
			t.Errorf("key %q is in en.json but not da.json", k)
		}
	}
	// Keys the code refers to, by their literal use.
	re := regexp.MustCompile(`(?:\.T\(|Key:\s*)"([a-z_]+\.[a-z0-9_.]+)"`)
	root := filepath.Join("..", "..")
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			if k := string(m[1]); !Danish.Has(k) {
				t.Errorf("%s uses key %q that has no text", path, k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestParseLang(t *testing.T) {
	for in, want := range map[string]Lang{"da": Danish, "da_DK.UTF-8": Danish, "Dansk": Danish, "en": English, "en-GB": English, "English": English} {
		if got, err := ParseLang(in); err != nil || got != want {
			t.Errorf("ParseLang(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseLang("de"); err == nil {
		t.Error("ParseLang(de) succeeded")
	}
}

type locErr struct{ name string }

func (e locErr) Error() string { return "x: " + e.name }
func (e locErr) Localize() Message {
	return Message{Key: "recipient.not_an_address", Args: map[string]any{"Input": e.name}}
}

func TestError(t *testing.T) {
	wrapped := fmt.Errorf("context: %w", locErr{"bob@"})
	if s := Danish.Error(wrapped); !strings.Contains(s, "»bob@«") {
		t.Errorf("Danish.Error = %q", s)
	}
	if s := English.Error(wrapped); !strings.Contains(s, "“bob@”") {
		t.Errorf("English.Error = %q", s)
	}
	plain := errors.New("disk on fire")
	if s := Danish.Error(plain); !strings.Contains(s, "disk on fire") || !strings.Contains(s, "Helpdesk") {
		t.Errorf("Danish.Error(plain) = %q", s)
	}
	if Danish.Error(nil) != "" {
		t.Error("Error(nil) is not empty")
	}
	if got := Danish.T("no.such.key", nil); got != "no.such.key" {
		t.Errorf("missing key renders %q", got)
	}
	// A text whose argument is missing renders as its key, never half-done.
	if got := Danish.T("recipient.invalid_date", map[string]any{"Input": "x"}); got != "recipient.invalid_date" {
		t.Errorf("missing argument renders %q", got)
	}
}

// A size is said the same whether the value was made here (int64) or
// came back through JSON (float64): a stored error reads as it was told.
func TestSizeThroughJSON(t *testing.T) {
	want := Danish.T("limit.too_large_file", map[string]any{"File": "f", "Size": int64(3 << 20), "Max": int64(1 << 20)})
	got := Danish.T("limit.too_large_file", map[string]any{"File": "f", "Size": float64(3 << 20), "Max": float64(1 << 20)})
	if got != want || got == "limit.too_large_file" {
		t.Errorf("%q, want %q", got, want)
	}
}
