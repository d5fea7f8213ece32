package demo

import (
	"crypto/x509"
	"fmt"
	"time"

	"sikkermail/internal/config"
	"sikkermail/internal/keystore"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/message"
	"sikkermail/internal/policy"
	"sikkermail/internal/smime"
)

// fillInbox puts mail in mb's inbox: one that came securely, one a
// citizen sent without encryption, and one whose signer is not its
// sender.
func (d *Core) fillInbox(mb policy.Mailbox) error {
	s := d.servers
	own, err := keystore.Open(s.Identities[mb.Address], s.Password)
	if err != nil {
		return err
	}
	jens, err := keystore.Open(s.People["jens.hansen@kommune.example"], s.Password)
	if err != nil {
		return err
	}
	now := time.Now()
	hop := func(from, with string, at time.Time) string {
		return "from " + from + " by mx." + config.DemoDomain + " with " + with + " id demo; " + at.Format(time.RFC1123Z)
	}
	to := []message.Address{{Name: mb.Name, Address: mb.Address}}
	mails := []struct {
		h      message.Header
		d      message.Draft
		signer *smime.Identity
		enc    bool
		hops   []string
	}{
		{message.Header{From: message.Address{Name: "Jens Hansen", Address: "jens.hansen@kommune.example"}, To: to, Subject: "Ansøgning om merit",
			Date: now.Add(-3 * time.Hour)},
			message.Draft{Body: "Kære Uddannelsesservice\n\nVedhæftet er min ansøgning om merit med eksamensbeviset.\n\nVenlig hilsen\nJens Hansen\n",
				Attachments: []message.Attachment{{Name: "Eksamensbevis.pdf", Data: []byte("%PDF-1.7\n% demo\n")}}},
			jens, true, []string{hop("mail.kommune.example", "ESMTPS", now.Add(-3*time.Hour))}},
		{message.Header{From: message.Address{Name: "Maria Nielsen", Address: "maria.nielsen@webmail.example"}, To: to, Subject: "Spørgsmål om optagelse",
			Date: now.Add(-2 * time.Hour)},
			message.Draft{Body: "Hej\n\nJeg har et spørgsmål om optagelse på pædagoguddannelsen.\n\nMvh Maria\n"},
			nil, false, []string{hop("webmail.example", "SMTP", now.Add(-2*time.Hour))}},
		{message.Header{From: message.Address{Name: "Kommunen", Address: "post@kommune-dk.example"}, To: to, Subject: "Vigtigt: bekræft jeres oplysninger",
			Date: now.Add(-time.Hour)},
			message.Draft{Body: "Klik her og bekræft jeres oplysninger.\n"},
			jens, true, []string{hop("kommune-dk.example", "ESMTPS", now.Add(-time.Hour))}},
	}
	for i, m := range mails {
		m.h.MessageID = fmt.Sprintf("<demo-%d@%s>", i+1, config.DemoDomain)
		var cert *x509.Certificate
		if m.enc {
			cert = own.Cert
		}
		raw, err := mailtest.Incoming(m.h, m.d, m.signer, cert, m.hops...)
		if err != nil {
			return err
		}
		if err := s.IMAP.Deliver(mb.Address, raw); err != nil {
			return err
		}
	}
	return nil
}
