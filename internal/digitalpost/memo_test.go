package digitalpost

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sikkermail/internal/i18n"
	"sikkermail/internal/memoxsd"
	"sikkermail/internal/testenv"
)

func sample(kind Kind, number string) Message {
	return Message{
		UUID: NewUUID(), Created: time.Date(2026, 12, 1, 9, 30, 0, 0, time.FixedZone("CET", 3600)),
		Label: "Svar på din ansøgning", SenderCVR: "29403473", SenderName: "Demo Professionshøjskole",
		Mailbox: "sikkerpost-uddservice@hoejskole.example", MailboxName: "Sikkerpost-uddservice",
		Recipient: kind, Number: number, Body: "Kære Anne\n\nHer er afgørelsen. <&> æøå\n",
		Attachments: []File{{Name: "afgørelse.pdf", Data: []byte("%PDF-1.7 ...")}, {Name: "Bilag 2.DOCX", Data: bytes.Repeat([]byte{0, 1, 2}, 1000)}},
	}
}

// validate runs the official schemas from the project's shared folder
// with xmllint: the proof that what we build is MeMo.
func validate(t *testing.T, memo []byte) {
	t.Helper()
	xmllint := testenv.Need(t, "xmllint")
	f := filepath.Join(t.TempDir(), "memo.xml")
	if err := os.WriteFile(f, memo, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--noout", "--nonet", "--huge", "--schema", sharedXSD(t, "MeMo_core.xsd"), f).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint: %v\n%s\n%s", err, out, memo)
	}
	if err := Validate(memo); err != nil {
		t.Errorf("Validate (embedded schemas): %v", err)
	}
}

func sharedXSD(t *testing.T, name string) string {
	t.Helper()
	p := testenv.Path("..", "shared", "memo-xsd", name)
	if _, err := os.Stat(p); err != nil {
		if testenv.Strict() {
			t.Fatalf("the official MeMo schemas are not at %s: %v", p, err)
		}
		t.Skipf("no MeMo schemas at %s", p)
	}
	return p
}

func TestBuildIsValidMeMo(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    Message
	}{
		{"cpr", sample(CPR, "0101901234")},
		{"contact-point", func() Message {
			m := sample(CPR, "0101901234")
			m.ContactPoint = "a4c8e2f6-0b3d-4a7e-9c1f-5d8b2e6a0c4f"
			return m
		}()},
		{"cvr", sample(CVR, "29403473")},
		{"cvr-attention", func() Message {
			m := sample(CVR, "29403473")
			m.Attention = Attention{Person: "Jens Hansen", PNumber: "1012345678", Unit: "Lønafdelingen"}
			return m
		}()},
		{"cvr-unit-only", func() Message {
			m := sample(CVR, "29403473")
			m.Attention = Attention{Unit: "Lønafdelingen"}
			return m
		}()},
		// One attachment's base64 is one text node: over 10 MB, libxml2
		// needs --huge (the demo failed every large letter without it).
		{"large-attachment", func() Message {
			m := sample(CPR, "0101901234")
			m.Attachments = append(m.Attachments, File{Name: "scanning.pdf", ContentType: "application/pdf", Data: bytes.Repeat([]byte("%PDF scanning "), 1<<20)})
			return m
		}()},
		{"no-attachments-long-subject", func() Message {
			m := sample(CPR, "0101901234")
			m.Attachments, m.Label = nil, strings.Repeat("ø", 300)
			return m
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			memo, err := Build(tc.m)
			if err != nil {
				t.Fatal(err)
			}
			validate(t, memo)
			s := string(memo)
			for _, want := range []string{`<Message xmlns="https://DigitalPost.dk/MeMo-1" memoVersion="1.1"`, "<messageType>DIGITALPOST</messageType>",
				"<messageUUID>" + tc.m.UUID + "</messageUUID>", "<createdDateTime>2026-12-01T08:30:00Z</createdDateTime>",
				"<idType>" + string(tc.m.Recipient) + "</idType>", "<senderID>29403473</senderID>",
				"<emailAddress>sikkerpost-uddservice@hoejskole.example</emailAddress>", "<encodingFormat>text/plain</encodingFormat>"} {
				if !strings.Contains(s, want) {
					t.Errorf("MeMo lacks %s", want)
				}
			}
			// The contact point is the GUID the portal gave, or none: never
			// an e-mail address.
			if cp := "<contactPointID>" + tc.m.ContactPoint + "</contactPointID>"; tc.m.ContactPoint != "" && !strings.Contains(s, cp) ||
				tc.m.ContactPoint == "" && strings.Contains(s, "<ContactPoint>") {
				t.Errorf("contact point %q in\n%s", tc.m.ContactPoint, s)
			}
			if got := strings.Count(s, "<MainDocument>"); got != 1 {
				t.Errorf("%d MainDocuments", got)
			}
			if got, want := strings.Count(s, "<AdditionalDocument>"), len(tc.m.Attachments); got != want {
				t.Errorf("%d AdditionalDocuments, want %d", got, want)
			}
			back, err := Parse(memo)
			if err != nil {
				t.Fatal(err)
			}
			if back.UUID != tc.m.UUID || back.Number != tc.m.Number || back.Recipient != tc.m.Recipient || back.Body != tc.m.Body ||
				back.Attention != tc.m.Attention && tc.m.Attention.PNumber != "" || !back.Created.Equal(tc.m.Created) {
				t.Errorf("read back %+v", back)
			}
			for i, a := range back.Attachments {
				if !bytes.Equal(a.Data, tc.m.Attachments[i].Data) || a.Name != tc.m.Attachments[i].Name {
					t.Errorf("attachment %d: %q, %d bytes", i, a.Name, len(a.Data))
				}
			}
			if back.Attachments != nil && back.Attachments[1].ContentType != Allowed["docx"] {
				t.Errorf("docx as %q", back.Attachments[1].ContentType)
			}
		})
	}
}

func TestBuildRefusesFileTypes(t *testing.T) {
	for _, name := range []string{"program.exe", "arkiv.zip", "uden-endelse", "script.js"} {
		m := sample(CPR, "0101901234")
		m.Attachments = append(m.Attachments, File{Name: name, Data: []byte("x")})
		_, err := Build(m)
		var fe *FileTypeError
		if !errors.As(err, &fe) || fe.File != name {
			t.Fatalf("%s: %v", name, err)
		}
		da := i18n.Danish.Error(err)
		if !strings.Contains(da, name) || !strings.Contains(da, "pdf, png") && !strings.Contains(da, "pdf") || !strings.Contains(da, "docx") {
			t.Errorf("%s: sentence %q does not name the file and the allowed types", name, da)
		}
	}
}

func TestNewUUIDIsVersion4(t *testing.T) {
	re := regexp.MustCompile(`^[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[ab89][a-f0-9]{3}-[a-f0-9]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		u := NewUUID()
		if !re.MatchString(u) || seen[u] {
			t.Fatalf("%q", u)
		}
		seen[u] = true
	}
}

// The embedded schemas are the official ones, byte for byte.
func TestEmbeddedSchemasAreOfficial(t *testing.T) {
	files, _ := fs.Glob(memoxsd.Schemas, "xsd/*.xsd")
	shared, _ := filepath.Glob(filepath.Join(filepath.Dir(sharedXSD(t, "MeMo_core.xsd")), "*.xsd"))
	if len(files) != len(shared) || len(files) == 0 {
		t.Fatalf("%d embedded, %d official", len(files), len(shared))
	}
	for _, f := range files {
		a, _ := memoxsd.Schemas.ReadFile(f)
		b, err := os.ReadFile(sharedXSD(t, filepath.Base(f)))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs from the official copy (%v)", f, err)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	testenv.Need(t, "xmllint")
	memo, err := Build(sample(CPR, "0101901234"))
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"no main document": regexp.MustCompile(`(?s)<MainDocument>.*</MainDocument>`).ReplaceAll(memo, nil),
		"bad uuid":         regexp.MustCompile(`<messageUUID>[^<]*`).ReplaceAll(memo, []byte("<messageUUID>123")),
		"local time":       bytes.Replace(memo, []byte("Z</createdDateTime>"), []byte("+01:00</createdDateTime>"), 1),
		"not xml":          []byte("hello"),
	} {
		if err := Validate(bad); err == nil {
			t.Errorf("%s: valid", name)
		}
	}
}
