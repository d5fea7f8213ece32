// Package directory answers, for each recipient, whether a mail can reach it
// securely and by which channel: the green check or red cross of the
// "Kontrollér adresser" step.
//
// Sources are consulted in order: the institution's own domains (internal,
// no encryption needed); then the certificate sources for S/MIME — the
// local store, then LDAP directories — until one yields a valid
// certificate; then Digital Post for CPR and CVR numbers. Every
// certificate found is judged under the S/MIME policy for encryption and
// for the address: every valid one is used, invalid ones are ignored, and
// only when none is valid is the recipient red, with the reason. A
// recipient no source can vouch for is red: the check fails closed.
package directory

import (
	"context"
	"crypto/x509"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"sikkermail/internal/digitalpost"
	"sikkermail/internal/i18n"
	"sikkermail/internal/recipient"
	"sikkermail/internal/smime"
)

// Channel is how a mail reaches a recipient securely.
type Channel string

// The channels.
const (
	Internal    Channel = "internal"
	SMIME       Channel = "smime"
	DigitalPost Channel = "digitalpost"
)

// Localize names the channel in the user's language.
func (c Channel) Localize() i18n.Message {
	return i18n.Message{Key: "channel." + string(c)}
}

// Verdict is the answer for one recipient: a channel when it can receive
// securely (green), an error saying why not (red).
type Verdict struct {
	// Input is the text the user typed.
	Input string
	// Recipient is nil when Input could not be parsed.
	Recipient *recipient.Recipient
	// Channel is set when the verdict is green.
	Channel Channel
	// Certs are every valid certificate found for an S/MIME recipient.
	Certs []*x509.Certificate
	// Source names where the certificates came from.
	Source string
	// Checked is when the certificates were looked up at their source
	// (earlier than now when they came from the cache).
	Checked time.Time
	// Cipher is the content encryption the recipient can take.
	Cipher smime.Cipher
	// Name is the name a CPR or CVR number is registered under in Digital
	// Post, when the service tells it: the user sees it is the right one.
	Name string
	// Err is nil when the verdict is green.
	Err error
}

// OK reports whether the recipient can receive securely (green).
func (v Verdict) OK() bool { return v.Err == nil && v.Channel != "" }

// Notes returns what the user should see beside the verdict: the
// recipient's own notes (a CPR number failing modulus 11), the name a
// number is registered under, and that a letter to a CPR number costs a
// fee.
func (v Verdict) Notes() []i18n.Message {
	var out []i18n.Message
	if v.Recipient != nil {
		out = v.Recipient.Notes()
	}
	if v.OK() && v.Channel == DigitalPost {
		if v.Name != "" {
			out = append(out, i18n.Message{Key: "digitalpost.registered_as", Args: map[string]any{"Name": v.Name}})
		}
		if v.Recipient.Kind == recipient.CPR {
			out = append(out, i18n.Message{Key: "digitalpost.fee"})
		}
	}
	return out
}

// Registry tells whether a CPR or CVR number can receive Digital Post:
// the service's contacts lookup (*digitalpost.Client).
type Registry interface {
	// Name names the service for a user.
	Name() string
	Lookup(ctx context.Context, kind digitalpost.Kind, number, display string) (digitalpost.Contact, error)
}

// Source finds certificates for e-mail addresses.
type Source interface {
	// Name names the source for a user: a folder, an ldap:// URL.
	Name() string
	// Lookup returns the certificates found for each address; addresses
	// with none may be missing from the map. It must return soon after
	// ctx is done.
	Lookup(ctx context.Context, addrs []string) (map[string][]*x509.Certificate, error)
}

// CapabilitySource is a Source that remembers what a certificate's
// holder announced it can read (the S/MIME capabilities of a signature
// it verified), so the cipher can be chosen for them.
type CapabilitySource interface {
	Capabilities(cert *x509.Certificate) []string
}

// Suggester is a Source that can also complete what a user is typing.
type Suggester interface {
	Suggest(ctx context.Context, typed string) ([]Suggestion, error)
}

// DefaultTimeout is the overall deadline of a check.
const DefaultTimeout = 10 * time.Second

// SuggestTimeout is how long the sources may take to complete a
// recipient being typed: a completion that comes later is no help.
const SuggestTimeout = 2 * time.Second

// MaxSuggestions is how many recipients are offered at most.
const MaxSuggestions = 5

// Typed is what a user typed as it is matched for suggestions, and
// whether it is long enough (two characters) to offer any.
func Typed(typed string) (string, bool) {
	typed = strings.TrimSpace(typed)
	return typed, len([]rune(typed)) >= 2
}

// Directory checks recipients against the configured sources.
type Directory struct {
	// Sources are asked in order, for the addresses no earlier source
	// had a valid certificate for.
	Sources []Source
	// Trust judges the certificates found (trust anchors, validity,
	// usage, revocation). Nil trusts nothing: every certificate is red.
	Trust *smime.Trust
	// NeedsCBC says which addresses are known not to read AES-GCM.
	NeedsCBC func(address string) bool
	// Timeout is the overall deadline; zero means DefaultTimeout.
	Timeout time.Duration
	// Cache, when set, is asked before Sources and keeps their green
	// answers.
	Cache *Cache
	// DigitalPost answers for CPR and CVR numbers; nil makes them red
	// (not set up).
	DigitalPost Registry
}

// Check returns the verdict for each recipient, in order. All recipients
// are checked together under one deadline: a slow or silent source makes
// its recipients red ("did not answer"), never the caller wait longer.
// A recipient given twice is looked up once.
func (d *Directory) Check(ctx context.Context, rs []*recipient.Recipient) []Verdict {
	timeout := d.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	out := make([]Verdict, len(rs))
	var external []string
	pending := map[string]bool{}
	for i, r := range rs {
		out[i] = Verdict{Input: r.Input, Recipient: r}
		switch {
		case r.Kind == recipient.Email && r.Internal:
			out[i].Channel = Internal
		case r.Kind == recipient.Email:
			if k := strings.ToLower(r.Address); !pending[k] {
				pending[k] = true
				external = append(external, r.Address)
			}
		case d.DigitalPost == nil:
			out[i].Err = &DigitalPostUnavailableError{Recipient: r.String()}
		}
	}
	done := d.numbers(ctx, rs, out, timeout)
	results := d.lookup(ctx, external, timeout)
	<-done
	for i, r := range rs {
		if r.Kind != recipient.Email || r.Internal {
			continue
		}
		res := results[strings.ToLower(r.Address)]
		out[i].Certs, out[i].Source, out[i].Checked, out[i].Err = res.certs, res.source, res.checked, res.err
		if res.err == nil {
			out[i].Channel = SMIME
			out[i].Cipher = smime.ChooseCipher(d.known(r.Address, res.certs))
		}
	}
	return out
}

// numbers asks Digital Post about every CPR and CVR number at once, each
// number once, and fills in their verdicts; the channel closes when all
// are in.
// Suggest asks every source that can complete what is typed, at once
// and within SuggestTimeout; a source that fails or is slow adds nothing.
func (d *Directory) Suggest(ctx context.Context, typed string) []Suggestion {
	ctx, cancel := context.WithTimeout(ctx, SuggestTimeout)
	defer cancel()
	found := make([][]Suggestion, len(d.Sources))
	var wg sync.WaitGroup
	for i, src := range d.Sources {
		if s, ok := src.(Suggester); ok {
			wg.Go(func() { found[i], _ = s.Suggest(ctx, typed) })
		}
	}
	wg.Wait()
	return slices.Concat(found...)
}

func (d *Directory) numbers(ctx context.Context, rs []*recipient.Recipient, out []Verdict, timeout time.Duration) <-chan struct{} {
	done := make(chan struct{})
	if d.DigitalPost == nil {
		close(done)
		return done
	}
	type answer struct {
		c   digitalpost.Contact
		err error
	}
	asked := map[string]chan answer{}
	for _, r := range rs {
		if r.Kind == recipient.Email || asked[r.Number] != nil {
			continue
		}
		ch := make(chan answer, 1)
		asked[r.Number] = ch
		kind := digitalpost.CPR
		if r.Kind == recipient.CVR {
			kind = digitalpost.CVR
		}
		go func(r *recipient.Recipient) {
			c, err := d.DigitalPost.Lookup(ctx, kind, r.Number, r.String())
			ch <- answer{c, err}
		}(r)
	}
	go func() {
		defer close(done)
		got := map[string]answer{}
		for n, ch := range asked {
			select {
			case a := <-ch:
				got[n] = a
			case <-ctx.Done():
				got[n] = answer{err: ctx.Err()}
			}
		}
		for i, r := range rs {
			a, ok := got[r.Number]
			if r.Kind == recipient.Email || !ok {
				continue
			}
			switch {
			case errors.Is(a.err, context.DeadlineExceeded) || a.err != nil && ctx.Err() != nil:
				out[i].Err = timeoutError(r.String(), d.DigitalPost.Name(), timeout)
			case a.err != nil:
				out[i].Err = a.err
			case a.c.Status == digitalpost.Registered:
				out[i].Channel, out[i].Name, out[i].Source, out[i].Checked = DigitalPost, a.c.Name, d.DigitalPost.Name(), time.Now()
			default:
				out[i].Err = &digitalpost.NotRegisteredError{Recipient: r.String(), Status: a.c.Status, Registration: a.c.Registration, Pending: a.c.Pending}
			}
		}
	}()
	return done
}

type lookupResult struct {
	certs   []*x509.Certificate
	source  string
	checked time.Time
	err     error
}

// lookup asks the sources in order and judges what they find.
func (d *Directory) lookup(ctx context.Context, addrs []string, timeout time.Duration) map[string]lookupResult {
	results := make(map[string]lookupResult, len(addrs))
	problems := map[string][]error{}
	failures := map[string]error{}
	remaining := addrs
	// judgeAll splits certificates found for a into valid ones and
	// problems.
	judgeAll := func(a string, certs []*x509.Certificate) (valid []*x509.Certificate) {
		for _, c := range certs {
			if perr := d.judge(c, a); perr != nil {
				problems[a] = append(problems[a], perr)
			} else {
				valid = append(valid, c)
			}
		}
		return valid
	}
	if d.Cache != nil {
		// A cache that cannot be read only costs a lookup at the sources.
		if hits, err := d.Cache.get(ctx, remaining); err == nil {
			var still []string
			for _, a := range remaining {
				if valid := judgeAll(a, hits[a].certs); len(valid) > 0 {
					results[strings.ToLower(a)] = lookupResult{certs: valid, source: hits[a].source, checked: hits[a].checked}
				} else {
					still = append(still, a)
				}
			}
			remaining = still
			clear(problems) // what the sources say now is what counts
		}
	}
	for _, src := range d.Sources {
		if len(remaining) == 0 {
			break
		}
		found, err := lookupOne(ctx, src, remaining)
		if err != nil {
			for _, a := range remaining {
				if _, ok := failures[a]; !ok {
					failures[a] = sourceError(src, a, err, timeout)
				}
			}
			continue
		}
		var still []string
		for _, a := range remaining {
			if valid := judgeAll(a, found[a]); len(valid) > 0 {
				checked := time.Now()
				if d.Cache != nil {
					checked = d.Cache.now()
					// A cache that cannot be written only costs a later lookup.
					_ = d.Cache.Save(ctx, a, src.Name(), valid)
				}
				results[strings.ToLower(a)] = lookupResult{certs: valid, source: src.Name(), checked: checked}
			} else {
				still = append(still, a)
			}
		}
		remaining = still
	}
	for _, a := range remaining {
		var err error
		switch {
		case failures[a] != nil:
			err = failures[a] // it may be retried: a source did not answer
		case len(problems[a]) > 0:
			err = &InvalidCertificatesError{Address: a, Problems: problems[a]}
		case len(d.Sources) == 0:
			err = &NoSourceError{Recipient: a}
		default:
			err = &NoCertificateError{Address: a}
		}
		results[strings.ToLower(a)] = lookupResult{err: err}
	}
	return results
}

// lookupOne runs one source's lookup so that it cannot outlive ctx, even
// if the source ignores it.
func lookupOne(ctx context.Context, src Source, addrs []string) (map[string][]*x509.Certificate, error) {
	type answer struct {
		found map[string][]*x509.Certificate
		err   error
	}
	ch := make(chan answer, 1)
	go func() {
		f, err := src.Lookup(ctx, addrs)
		ch <- answer{f, err}
	}()
	select {
	case a := <-ch:
		if a.err == nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return a.found, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// known says what is known of an address's abilities: the setting, and
// the capabilities learnt with any of its certificates.
func (d *Directory) known(address string, certs []*x509.Certificate) smime.Known {
	k := smime.Known{NeedsCBC: d.NeedsCBC != nil && d.NeedsCBC(address)}
	for _, src := range d.Sources {
		if st, ok := src.(CapabilitySource); ok {
			for _, c := range certs {
				if caps := st.Capabilities(c); caps != nil {
					k.Capabilities = caps
				}
			}
		}
	}
	return k
}

// judge checks one certificate for encrypting to address.
func (d *Directory) judge(c *x509.Certificate, address string) error {
	if !smime.HasAddress(c, address) {
		return &smime.Error{Reason: smime.CertAddressMismatch, Subject: address, Detail: strings.Join(smime.Addresses(c), ", ")}
	}
	p := d.Trust
	if p == nil {
		p = &smime.Trust{}
	}
	_, err := p.CheckFor(smime.Encryption, c)
	return err
}

func sourceError(src Source, address string, err error, timeout time.Duration) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return timeoutError(address, src.Name(), timeout)
	}
	return &UnreachableError{Address: address, Source: src.Name(), Err: err}
}

// timeoutError says that source did not answer for address within the
// check's deadline.
func timeoutError(address, source string, timeout time.Duration) *TimeoutError {
	return &TimeoutError{Address: address, Source: source, Seconds: int(timeout.Round(time.Second) / time.Second)}
}
