package core

import "sikkermail/internal/policy"

// testMailboxes are the tests' secure mailboxes (of the demo's domain).
var testMailboxes = []policy.Mailbox{
	{Address: "sikkerpost-uddservice@hoejskole.example", Name: "Sikkerpost-uddservice", Department: "Uddannelsesservice", SentFolder: "Sendt post"},
	{Address: "sikkerpost-hr@hoejskole.example", Name: "Sikkerpost-hr", Department: "HR", SentFolder: "Sendt post"},
	{Address: "sikkerpost-studievejledning@hoejskole.example", Name: "Sikkerpost-studievejledning", Department: "Studievejledning", SentFolder: "Sendt post"},
}

// testHelpdesk is who sets the tests' mailboxes up.
var testHelpdesk = policy.Actor{User: "helpdesk@hoejskole.example", Machine: "test"}
