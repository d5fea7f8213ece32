package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"sikkermail/internal/directory"
	"sikkermail/internal/i18n"
	"sikkermail/internal/recipient"
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
		for _, n := range v.Recipient.Notes() {
			r.Notes = append(r.Notes, l.M(n))
		}
	}
	if v.OK() {
		r.Verdict = "green"
		r.Channel = string(v.Channel)
		r.Message = l.M(v.Channel.Localize())
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
