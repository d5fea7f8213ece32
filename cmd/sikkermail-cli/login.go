package main

import (
	"context"
	"fmt"
	"time"
)

// loginCmd signs in with Microsoft by device code: it prints where to
// go and the code to enter there, and waits until the user has.
func (c *cli) loginCmd(args []string) error {
	if len(args) != 0 {
		c.fail(c.lang.T("cli.login.usage", nil))
		return errUsage
	}
	co, err := c.core()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dc, err := co.StartDeviceCode(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, c.lang.T("cli.login.device", map[string]any{"URL": dc.URL, "Code": dc.Code}))
	who, err := co.WaitDeviceCode(ctx, dc)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, c.lang.T("cli.login.done", map[string]any{"User": who}))
	return nil
}

// logoutCmd ends the Microsoft session and removes its tokens.
func (c *cli) logoutCmd(args []string) error {
	co, err := c.core()
	if err != nil {
		return err
	}
	if err := co.SignOut(context.Background()); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, c.lang.T("cli.logout.done", nil))
	return nil
}

// whoamiCmd says who uses the client, and as whom it is signed in with
// Microsoft.
func (c *cli) whoamiCmd(args []string) error {
	co, err := c.core()
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, co.User())
	switch on, who := co.Microsoft(context.Background()); {
	case !on:
	case who == "":
		fmt.Fprintln(c.stdout, c.lang.T("cli.whoami.not_signed_in", nil))
	default:
		fmt.Fprintln(c.stdout, c.lang.T("cli.whoami.signed_in", map[string]any{"User": who}))
	}
	return nil
}
