package recipient

import (
	"fmt"
	"strconv"
	"time"
)

// parseCPR validates a CPR number given as 10 digits. The date of birth
// must exist; the century follows from the seventh digit and the year
// (CPR-kontoret's table):
//
//	7th digit  YY 00–36   YY 37–57   YY 58–99
//	0–3        19YY       19YY       19YY
//	4, 9       20YY       19YY       19YY
//	5–8        20YY       20YY       18YY
//
// A birth date after now is no CPR number (yet). The modulus-11 check
// (weights 4,3,2,7,6,5,4,3,2,1) is recorded in Mod11 but does not
// reject: numbers issued since 2007 may fail it.
func parseCPR(input, digits string, now time.Time) (*Recipient, error) {
	d := func(i int) int { return int(digits[i] - '0') }
	day := d(0)*10 + d(1)
	month := d(2)*10 + d(3)
	yy := d(4)*10 + d(5)
	year := cprYear(yy, d(6))
	date := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if month < 1 || month > 12 || day < 1 || date.Day() != day || date.Month() != time.Month(month) {
		return nil, &Error{Input: input, Kind: CPR, Reason: InvalidDate,
			Detail: fmt.Sprintf("%02d.%02d.%04d", day, month, year)}
	}
	if date.After(now) {
		return nil, &Error{Input: input, Kind: CPR, Reason: FutureBirthdate, Detail: fmt.Sprintf("%02d.%02d.%04d", day, month, year)}
	}
	sum := 0
	for i, w := range [10]int{4, 3, 2, 7, 6, 5, 4, 3, 2, 1} {
		sum += w * d(i)
	}
	return &Recipient{Kind: CPR, Input: input, Number: digits, Birthdate: date, Mod11: sum%11 == 0}, nil
}

// cprYear returns the full year of birth from the two-digit year and the
// seventh digit of a CPR number.
func cprYear(yy, seventh int) int {
	switch {
	case seventh <= 3:
		return 1900 + yy
	case seventh == 4 || seventh == 9:
		if yy <= 36 {
			return 2000 + yy
		}
		return 1900 + yy
	default: // 5–8
		if yy <= 57 {
			return 2000 + yy
		}
		return 1800 + yy
	}
}

// parseCVR validates a CVR number given without prefix or spaces: 8 digits,
// no leading zero, and the weighted sum (weights 2,7,6,5,4,3,2,1) divisible
// by 11.
func parseCVR(input, digits string) (*Recipient, error) {
	if digits == "" {
		return nil, &Error{Input: input, Kind: CVR, Reason: WrongLength, Detail: "0"}
	}
	for i := 0; i < len(digits); i++ {
		if notDigit(rune(digits[i])) {
			return nil, &Error{Input: input, Kind: CVR, Reason: NotRecognised}
		}
	}
	if len(digits) != 8 {
		return nil, &Error{Input: input, Kind: CVR, Reason: WrongLength, Detail: strconv.Itoa(len(digits))}
	}
	if digits[0] == '0' {
		return nil, &Error{Input: input, Kind: CVR, Reason: LeadingZero}
	}
	sum := 0
	for i, w := range [8]int{2, 7, 6, 5, 4, 3, 2, 1} {
		sum += w * int(digits[i]-'0')
	}
	if sum%11 != 0 {
		return nil, &Error{Input: input, Kind: CVR, Reason: BadCheckDigit}
	}
	return &Recipient{Kind: CVR, Input: input, Number: digits}, nil
}
