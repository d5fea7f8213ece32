package digitalpost

import (
	"errors"
	"testing"
	"time"
	"unicode/utf8"
)

// The service's answers are outside input: whatever comes back, the
// client says received, refused or try again — never a receipt for
// another message, never a panic.
func FuzzReceipt(f *testing.F) {
	const uuid = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
	f.Add(201, []byte(`{"messageUUID":"`+uuid+`","receiptStatus":"RECEIVED"}`))
	f.Add(201, []byte(`{"receiptStatus":"COMPLETED"}`))
	f.Add(201, []byte(`{"receiptStatus":"INVALID","errorMessage":"x"}`))
	f.Add(400, []byte(`{"code":"VALIDATION_ERROR","message":"x","fieldErrors":[{"field":"f","message":"m"}]}`))
	f.Add(403, []byte(`{"code":"NOT_ALLOWED"}`))
	f.Add(503, []byte(`{"receiptStatus":"NOT_ALLOWED"}`))
	f.Add(201, []byte(`{"messageUUID":"other","receiptStatus":"RECEIVED"}`))
	f.Add(201, []byte(`{"messageUUID":"`+uuid+`"}`))
	f.Fuzz(func(t *testing.T, code int, body []byte) {
		r, err := parseReceipt("dp", "x", uuid, code, body, []byte("memo"))
		if err == nil && (r.MessageUUID != uuid || !r.Accepted() || code/100 != 2) {
			t.Fatalf("accepted %+v (HTTP %d)", r, code)
		}
		var rej *RejectedError
		var un *UnavailableError
		var acc *AccessError
		var lost *LostAnswerError
		if err != nil && !errors.As(err, &rej) && !errors.As(err, &un) && !errors.As(err, &acc) && !errors.As(err, &lost) {
			t.Fatalf("unclassified %T", err)
		}
		if rej != nil && (!utf8.ValidString(rej.Detail) || len(rej.Detail) > 200) {
			t.Fatalf("detail of %d bytes", len(rej.Detail))
		}
	})
}

func FuzzContacts(f *testing.F) {
	f.Add([]byte(`{"contacts":[{"type":"CITIZEN","cprNumber":"0101901009","mailboxSubscription":{"registrationStatus":"AUTOMATIC_REGISTRATION","publicRegistrationStatus":"REGISTERED"}}]}`))
	f.Add([]byte(`{"contacts":[{"type":"CITIZEN","cprNumber":"0101901009"}]}`))
	f.Add([]byte(`{"contacts":[]}`))
	f.Add([]byte(`{"contacts":[{"cvrNumber":"0101901009","mailboxSubscription":{"publicRegistrationStatus":"WHATEVER"}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := parseContacts("dp", "x", CPR, "0101901009", body)
		if err == nil && c.Status != Registered && c.Status != Exempt && c.Status != Closed && c.Status != Unknown {
			t.Fatalf("status %q", c.Status)
		}
	})
}

// MeMo messages the simulator receives are parsed back; nothing makes it
// panic, and what Build writes is read back as it was.
func FuzzParseMeMo(f *testing.F) {
	m, _ := Build(Message{UUID: NewUUID(), Created: time.Now(), Label: "x", SenderCVR: "29403473", Recipient: CPR, Number: "0101901009", Body: "b",
		Attachments: []File{{Name: "a.pdf", Data: []byte("y")}}})
	f.Add(m)
	f.Add([]byte(`<Message xmlns="https://DigitalPost.dk/MeMo-1"><MessageBody><createdDateTime>x</createdDateTime></MessageBody></Message>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if msg, err := Parse(b); err == nil && msg == nil {
			t.Fatal("nil without error")
		}
	})
}
