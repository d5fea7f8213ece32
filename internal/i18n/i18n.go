// Package i18n turns message keys and typed errors into sentences in Danish
// (the default) or English.
//
// The texts live in assets/translation/{da,en}.json, the same files the GUI
// hands to fyne.io/fyne/v2/lang, so the GUI and the CLI say the same thing.
// Packages under internal/ do not format user sentences themselves: their
// error types implement Localizer, naming a key and the values (the
// recipient, the file) the sentence needs.
package i18n

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"text/template"

	"sikkermail/assets"
)

// Lang is a user interface language.
type Lang string

// The languages sikkermail speaks. Danish is the default.
const (
	Danish  Lang = "da"
	English Lang = "en"
)

// Langs lists the supported languages, the default first.
var Langs = []Lang{Danish, English}

// ParseLang accepts a language code ("da", "en"), a name ("dansk",
// "English") or a locale such as "da_DK.UTF-8".
func ParseLang(s string) (Lang, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexAny(l, "_-.@"); i > 0 {
		l = l[:i]
	}
	switch l {
	case "da", "dansk", "danish":
		return Danish, nil
	case "en", "english", "engelsk":
		return English, nil
	}
	return "", fmt.Errorf("i18n: unknown language %q (use da or en)", s)
}

// FromEnv picks the language from SIKKERMAIL_LANG, falling back to Danish.
// The system locale (LANG) is deliberately not consulted: the institution's
// working language is Danish whatever the PC's locale says.
func FromEnv() Lang {
	if l, err := ParseLang(os.Getenv("SIKKERMAIL_LANG")); err == nil {
		return l
	}
	return Danish
}

// Message is a key into the translations together with the values its
// template refers to.
type Message struct {
	Key  string
	Args map[string]any
}

// Localizer is implemented by errors (and other values) that can be told to
// a user. The key must exist in every translation; TestCatalogue checks that
// each key used in the code does.
type Localizer interface {
	Localize() Message
}

type catalogue map[string]*template.Template

var (
	loadOnce sync.Once
	cats     map[Lang]catalogue
	loadErr  error
)

func load() {
	cats = make(map[Lang]catalogue)
	for _, l := range Langs {
		c, err := parseFile(l, assets.Translations, assets.TranslationDir+"/"+string(l)+".json")
		if err != nil {
			loadErr = err
			return
		}
		cats[l] = c
	}
}

// parseFile reads one language's texts. Their templates may say
// {{size .X}} for a byte count as that language writes it.
func parseFile(l Lang, fsys fs.FS, name string) (catalogue, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("i18n: %w", err)
	}
	var raw map[string]string
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("i18n: %s: %w", name, err)
	}
	c := make(catalogue, len(raw))
	for k, v := range raw {
		t, err := template.New(k).Option("missingkey=error").Funcs(template.FuncMap{"size": l.anySize, "msg": l.nested, "helpdesk": helpdesk}).Parse(v)
		if err != nil {
			return nil, fmt.Errorf("i18n: %s: key %q: %w", name, k, err)
		}
		c[k] = t
	}
	return c, nil
}

var (
	contactMu sync.Mutex
	contact   string
)

// SetHelpdeskContact gives the sentences that send the user to Helpdesk
// how to reach it (an address, a phone number: the institution's
// setting); "" names Helpdesk alone.
func SetHelpdeskContact(s string) {
	contactMu.Lock()
	contact = strings.TrimSpace(s)
	contactMu.Unlock()
}

// helpdesk is {{helpdesk}} in a sentence: Helpdesk, and how to reach it.
func helpdesk() string {
	contactMu.Lock()
	defer contactMu.Unlock()
	if contact == "" {
		return "Helpdesk"
	}
	return "Helpdesk (" + contact + ")"
}

// Keys returns every key the translation for l defines.
func Keys(l Lang) ([]string, error) {
	loadOnce.Do(load)
	if loadErr != nil {
		return nil, loadErr
	}
	keys := make([]string, 0, len(cats[l]))
	for k := range cats[l] {
		keys = append(keys, k)
	}
	return keys, nil
}

// Has reports whether l has a text for key.
func (l Lang) Has(key string) bool {
	loadOnce.Do(load)
	_, ok := cats[l][key]
	return ok
}

// T renders the text for key in l with args. A key missing in l falls back
// to English, then to the key itself, so a user is never shown nothing.
func (l Lang) T(key string, args map[string]any) string {
	loadOnce.Do(load)
	for _, lang := range []Lang{l, English} {
		t, ok := cats[lang][key]
		if !ok {
			continue
		}
		var b strings.Builder
		if err := t.Execute(&b, args); err != nil {
			return key
		}
		return b.String()
	}
	return key
}

// M renders a Message.
func (l Lang) M(m Message) string { return l.T(m.Key, m.Args) }

// nested renders a Message given as a template argument ({{msg .Reason}}),
// also as it comes back from JSON (a map with Key and Args).
func (l Lang) nested(v any) string {
	switch m := v.(type) {
	case Message:
		return l.M(m)
	case map[string]any:
		key, _ := m["Key"].(string)
		args, _ := m["Args"].(map[string]any)
		return l.T(key, args)
	}
	return fmt.Sprint(v)
}

// Error turns err into a sentence for a user. Errors that implement
// Localizer anywhere in their chain speak for themselves; any other error
// is wrapped in a generic sentence that still carries its text.
func (l Lang) Error(err error) string {
	if err == nil {
		return ""
	}
	var loc Localizer
	if errors.As(err, &loc) {
		return l.M(loc.Localize())
	}
	return l.T("error.unexpected", map[string]any{"Err": err.Error()})
}

// anySize is Size of a number as the values of a Message hold it: an
// int64 as made, a float64 once it has been through JSON (a stored error,
// a gateway's answer).
func (l Lang) anySize(v any) string {
	switch n := v.(type) {
	case int64:
		return l.Size(n)
	case int:
		return l.Size(int64(n))
	case float64:
		return l.Size(int64(n))
	case interface{ Int64() (int64, error) }:
		i, _ := n.Int64()
		return l.Size(i)
	}
	return fmt.Sprint(v)
}

// Size says a byte count as people read it: "512 B", "3 kB", "1,5 MB"
// (a decimal comma in Danish).
func (l Lang) Size(n int64) string {
	var s string
	switch {
	case n >= 1<<20:
		s = fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		s = fmt.Sprintf("%.0f kB", float64(n)/(1<<10))
	default:
		s = fmt.Sprintf("%d B", n)
	}
	return l.decimalComma(s)
}

// Decimal says x with one decimal, as people read it: "5.0", in Danish
// "5,0".
func (l Lang) Decimal(x float64) string { return l.decimalComma(fmt.Sprintf("%.1f", x)) }

func (l Lang) decimalComma(s string) string {
	if l == Danish {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}
