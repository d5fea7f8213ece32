// Package memoxsd holds the official MeMo 1.1 XML schemas of Digital
// Post and checks a message against them with xmllint: the one check
// both the client (before it sends) and the test service (when it
// receives) make, with the service's schemas and no code of either.
package memoxsd

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Schemas are the official MeMo 1.1 XML schemas (see xsd/README.md).
//
//go:embed xsd/*.xsd
var Schemas embed.FS

// ErrNoValidator means xmllint (Debian's libxml2-utils) is not installed.
var ErrNoValidator = errors.New("memoxsd: xmllint is not installed (package libxml2-utils)")

var schemaDir = sync.OnceValues(func() (string, error) {
	// One folder per schema set, named by its content, so that parallel
	// processes share it and a changed set never meets an old one.
	h := sha256.New()
	files, err := fs.Glob(Schemas, "xsd/*.xsd")
	if err != nil {
		return "", err
	}
	for _, f := range files {
		b, _ := Schemas.ReadFile(f)
		h.Write([]byte(f))
		h.Write(b)
	}
	dir := filepath.Join(os.TempDir(), "sikkermail-memo-xsd-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(dir, "MeMo_core.xsd")); err == nil {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(os.TempDir(), "sikkermail-memo-xsd-")
	if err != nil {
		return "", err
	}
	for _, f := range files {
		b, _ := Schemas.ReadFile(f)
		if err := os.WriteFile(filepath.Join(tmp, filepath.Base(f)), b, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(filepath.Join(dir, "MeMo_core.xsd")); serr != nil {
			return "", err
		}
	}
	return dir, nil
})

// Validate checks a MeMo message against the official schemas with
// xmllint. It returns ErrNoValidator when xmllint is missing, and an
// error with xmllint's words when the message is not valid.
func Validate(memo []byte) error {
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		return ErrNoValidator
	}
	dir, err := schemaDir()
	if err != nil {
		return err
	}
	// --huge: an attachment is one text node, and libxml2 refuses nodes
	// over 10 MB without it.
	cmd := exec.Command(bin, "--noout", "--nonet", "--huge", "--schema", filepath.Join(dir, "MeMo_core.xsd"), "-")
	cmd.Stdin = bytes.NewReader(memo)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("memoxsd: not valid MeMo: %s", strings.TrimSpace(out.String()))
	}
	return nil
}
