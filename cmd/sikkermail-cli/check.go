package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"sikkermail/internal/directory"
	"sikkermail/internal/i18n"
	"sikkermail/internal/recipient"
	"sikkermail/internal/smime"
)

// checkResult is one recipient in `check --json` output. The field names
// are part of the documented, stable format (README, "sikkermail-cli check").
type checkResult struct {
	Input     string   `json:"input"`
	Kind      string   `json:"kind"`
	Recipient string   `json:"recipient"`
	Verdict   string   `json:"verdict"`
	Channel   string   `json:"channel,omitempty"`
	Code      string   `json:"code,omitempty"`
	Message   string   `json:"message"`
	Notes     []string `json:"notes,omitempty"`
	// Name is the name a CPR or CVR number is registered under in
	// Digital Post, when the service tells it.
	Name string `json:"name,omitempty"`
	// Source, Cipher and Certificates are set for a green S/MIME recipient.
	Source       string        `json:"source,omitempty"`
	Cipher       string        `json:"cipher,omitempty"`
	Certificates []certificate `json:"certificates,omitempty"`
}

// certificate describes one certificate a recipient will be encrypted to.
type certificate struct {
	Subject  string    `json:"subject"`
	Issuer   string    `json:"issuer"`
	NotAfter time.Time `json:"not_after"`
	SHA256   string    `json:"sha256"`
	CVR      string    `json:"cvr,omitempty"`
	message  string
}

func (c *cli) check(args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	if err := fs.Parse(args); err != nil {
		c.usageError(err)
		return errUsage
	}
	if fs.NArg() == 0 {
		c.fail(c.lang.T("cli.check.none", nil))
		return errUsage
	}
	co, err := c.core()
	if err != nil {
		return err
	}
	verdicts := co.Check(context.Background(), fs.Args())
	results := make([]checkResult, len(verdicts))
	red := 0
	for i, v := range verdicts {
		results[i] = result(c.lang, v)
		if !v.OK() {
			red++
		}
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(results); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
		for _, r := range results {
			detail := r.Code
			if r.Verdict == "green" {
				detail = r.Channel
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Verdict, r.Kind, r.Recipient, detail, r.Message)
			for _, c := range r.Certificates {
				fmt.Fprintf(tw, "cert\t%s\t%s\t%s\t%s\n", r.Kind, r.Recipient, c.NotAfter.Format(time.DateOnly), c.message)
			}
			for _, n := range r.Notes {
				fmt.Fprintf(tw, "note\t%s\t%s\t\t%s\n", r.Kind, r.Recipient, n)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if red > 0 {
		return errRed{red}
	}
	return nil
}

// result turns a verdict into its stable output form.
func result(l i18n.Lang, v directory.Verdict) checkResult {
	r := checkResult{Input: v.Input, Kind: "-", Recipient: v.Input, Verdict: "red"}
	if v.Recipient != nil {
		r.Kind = v.Recipient.Kind.String()
		r.Recipient = v.Recipient.String()
	}
	for _, n := range v.Notes() {
		r.Notes = append(r.Notes, l.M(n))
	}
	if v.OK() {
		r.Verdict = "green"
		r.Channel = string(v.Channel)
		r.Message = l.M(v.Channel.Localize())
		r.Name = v.Name
		if v.Channel == directory.SMIME {
			r.Source, r.Cipher = v.Source, v.Cipher.String()
			for _, c := range v.Certs {
				sum := sha256.Sum256(c.Raw)
				cert := certificate{Subject: c.Subject.String(), Issuer: c.Issuer.String(), NotAfter: c.NotAfter.UTC(),
					SHA256: hex.EncodeToString(sum[:]), CVR: smime.CVR(c)}
				cert.message = l.T("cli.check.cert", map[string]any{"Name": c.Subject.CommonName, "Org": strings.Join(c.Subject.Organization, ", "),
					"Issuer": c.Issuer.CommonName, "Expiry": c.NotAfter.UTC().Format(time.DateOnly), "Source": v.Source})
				r.Certificates = append(r.Certificates, cert)
			}
		}
		return r
	}
	var perr *recipient.Error
	if errors.As(v.Err, &perr) && perr.Kind != 0 {
		r.Kind = perr.Kind.String()
	}
	r.Code = "error.unexpected"
	var loc i18n.Localizer
	if errors.As(v.Err, &loc) {
		r.Code = loc.Localize().Key
	}
	r.Message = l.Error(v.Err)
	return r
}
