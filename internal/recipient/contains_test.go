package recipient

import "testing"

func TestContainsCPR(t *testing.T) {
	for s, want := range map[string]bool{
		"Sag 010190-1234 vedr. praktik": true,
		"ref 0101901234":                true,
		"0101901234":                    true,
		"cpr 010190 1234":               true,
		"tlf 12345678":                  false,
		"310290-1234 er ingen dato":     false,
		"ordre 12345678901":             false,
		"Møde om praktikforløb":         false,
		"Sag 010190–1009":               true, // en dash, as Word and Outlook make it
		"Sag 010190—1009":               true,
		"Sag 010190‑1009":               true, // non-breaking hyphen
		"Sag 010190/1009":               true,
		"Sag 01.01.90-1009":             true,
		"Sag 010190.1009":               true,
		"Sag 01 01 90 1009":             true,
		"Sag ０１０１９０-１００９":               true, // fullwidth digits
		"Sag 010190 - 1009":             true,
		"dato 01.01.2090":               false,
		"konto 1234-567890":             false,
	} {
		if got := ContainsCPR(s); got != want {
			t.Errorf("ContainsCPR(%q) = %v", s, got)
		}
	}
}
