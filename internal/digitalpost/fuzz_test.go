package digitalpost

import (
	"errors"
	"strings"
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

// A letter fetched from the institution's inbox at the service is
// outside input: a letter or an error, never a panic, and what it gives
// is printable and bounded.
func FuzzParseLetter(f *testing.F) {
	letter := `<Message xmlns="https://DigitalPost.dk/MeMo-1" memoVersion="1.1" memoSchVersion="1.1.0"><MessageHeader>` +
		`<messageType>DIGITALPOST</messageType><messageUUID>6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b</messageUUID><label>Ansøgning</label>` +
		`<mandatory>false</mandatory><legalNotification>false</legalNotification>` +
		`<Sender><senderID>0101901009</senderID><idType>CPR</idType><label>Anna Jensen</label></Sender>` +
		`<Recipient><recipientID>29403473</recipientID><idType>CVR</idType><ContactPoint><contactPointID>4f5b1c2d-0a9e-4b7c-8d6e-1f2a3b4c5d6e</contactPointID></ContactPoint></Recipient>` +
		`</MessageHeader><MessageBody><createdDateTime>2026-12-01T10:00:00Z</createdDateTime>` +
		`<MainDocument><File><encodingFormat>text/plain</encodingFormat><filename>brev.txt</filename><language>da</language><content>SGVq</content></File></MainDocument>` +
		`<AdditionalDocument><File><encodingFormat>application/pdf</encodingFormat><filename>bilag.pdf</filename><language>da</language><content>JVBERi0=</content></File></AdditionalDocument>` +
		`</MessageBody></Message>`
	f.Add([]byte(letter))
	f.Add([]byte(strings.Replace(letter, "CPR", "cvr", 1)))
	f.Add([]byte(strings.Replace(letter, "SGVq", "!!!", 1)))
	f.Add([]byte(`<Message xmlns="https://DigitalPost.dk/MeMo-1"></Message>`))
	f.Fuzz(func(t *testing.T, memo []byte) {
		l, err := ParseLetter(memo)
		if err != nil {
			return
		}
		if l.Sender == "" || (l.SenderKind != CPR && l.SenderKind != CVR) || len(l.Documents) == 0 || len(l.Documents) > maxDocuments {
			t.Fatalf("%+v", l)
		}
		for _, s := range append([]string{l.Label, l.SenderName}, l.Documents[0].Name) {
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\r\n") || utf8.RuneCountInString(s) > 256 {
				t.Fatalf("%q", s)
			}
		}
	})
}
