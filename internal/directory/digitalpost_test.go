package directory

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sikkermail/internal/digitalpost"
	"sikkermail/internal/i18n"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/recipient"
)

func digitalPost(t *testing.T) (*mailtest.DigitalPost, *digitalpost.Client) {
	t.Helper()
	sim := mailtest.StartDigitalPost(t)
	sim.Register(mailtest.Numbers...)
	c, err := digitalpost.NewClient(sim.URL, sim.ClientCert, sim.TLS.Roots, 0)
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

func parseAll(t *testing.T, in ...string) []*recipient.Recipient {
	t.Helper()
	var rs []*recipient.Recipient
	internal, _ := recipient.NewDomains("hoejskole.example")
	for _, s := range in {
		r, err := recipient.Parser{Internal: internal}.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	return rs
}

func TestCheckDigitalPost(t *testing.T) {
	sim, c := digitalPost(t)
	var asked atomic.Int32
	sim.SetFault(func(op, arg string) error { asked.Add(1); return nil })
	d := &Directory{DigitalPost: c}
	vs := d.Check(context.Background(), parseAll(t, "010190-1009", "DK 12345100", "020280-1005", "0303701001", "87654109", "040460-1008",
		"sikkerpost@hoejskole.example", "0101901009", "040470-1002", "050570-1003"))
	want := []struct {
		green bool
		words []string
	}{
		{true, []string{"gebyr"}},
		{true, []string{"CVR-nummeret tilhører Demo Firma ApS"}},
		{false, []string{"020280-1005", "fritaget"}},
		{false, []string{"030370-1001", "lukket"}},
		{false, []string{"87654109", "lukket"}},
		{false, []string{"040460-1008", "ikke tilmeldt"}},
		{true, nil},
		{true, []string{"gebyr"}},
		{false, []string{"040470-1002", "flyttet til udlandet"}},
		{false, []string{"050570-1003", "endnu ikke tilmeldt"}},
	}
	for i, v := range vs {
		var text []string
		for _, n := range v.Notes() {
			text = append(text, i18n.Danish.M(n))
		}
		if v.Err != nil {
			text = append(text, i18n.Danish.Error(v.Err))
		}
		s := strings.Join(text, " | ")
		if v.OK() != want[i].green {
			t.Errorf("%s: green=%v (%s)", v.Input, v.OK(), s)
		}
		for _, w := range want[i].words {
			if !strings.Contains(s, w) {
				t.Errorf("%s: %q lacks %q", v.Input, s, w)
			}
		}
		if v.OK() && v.Recipient.Kind != recipient.Email && v.Channel != DigitalPost {
			t.Errorf("%s: channel %s", v.Input, v.Channel)
		}
		if v.Recipient.Kind == recipient.CVR && strings.Contains(s, "gebyr") {
			t.Errorf("%s: a fee note for a CVR number", v.Input)
		}
	}
	if n := asked.Load(); n != 8 {
		t.Errorf("%d lookups for 8 distinct numbers", n)
	}
	for _, v := range vs {
		if v.Recipient.Kind == recipient.CPR && v.Name != "" {
			t.Errorf("%s: a name for a CPR number: %q", v.Input, v.Name)
		}
	}
}

func TestCheckDigitalPostFailsClosed(t *testing.T) {
	sim, c := digitalPost(t)
	rs := parseAll(t, "010190-1009")

	if v := (&Directory{}).Check(context.Background(), rs)[0]; v.OK() || !strings.Contains(i18n.Danish.Error(v.Err), "ikke opsat") {
		t.Errorf("without Digital Post: %v", v.Err)
	}
	sim.SetFault(func(op, arg string) error { return mailtest.HTTPStatus(503) })
	v := (&Directory{DigitalPost: c}).Check(context.Background(), rs)[0]
	var ue *digitalpost.UnavailableError
	if v.OK() || !errors.As(v.Err, &ue) || !ue.IsTemporary() {
		t.Errorf("service failing: %v", v.Err)
	}
	sim.SetFault(func(op, arg string) error { return mailtest.ErrStall })
	start := time.Now()
	v = (&Directory{DigitalPost: c, Timeout: 300 * time.Millisecond}).Check(context.Background(), rs)[0]
	var te *TimeoutError
	if v.OK() || !errors.As(v.Err, &te) || !strings.Contains(i18n.Danish.Error(v.Err), "010190-1009") {
		t.Errorf("service silent: %v", v.Err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("the check waited %v past its deadline", time.Since(start))
	}
}
