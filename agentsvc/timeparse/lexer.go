package timeparse

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// token is one word of the message. The rules match on text; start and end
// locate the word in the original message so the title keeps the user's
// spelling and case.
type token struct {
	text       string // lower-cased, curly apostrophe folded to '
	start, end int    // byte offsets in the original text
}

// tokenize splits s into words. Inner marks that belong to time shapes are
// kept ("7:30am", "a.m", "2026-12-24", "o'clock", "9am-5pm"); marks that only
// decorate a word are trimmed ("5pm.", "'today'"). Commas, brackets and the
// like separate words and are never tokens themselves, so "Monday, Wednesday
// and Friday" reads as a plain list. "@" and "&" are single-character tokens
// because they stand for words ("at", "and").
func tokenize(s string) []token {
	var toks []token
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		w := strings.TrimLeftFunc(s[start:end], isDecoration)
		a := end - len(w)
		if w = strings.TrimRightFunc(w, isDecoration); w != "" {
			toks = append(toks, token{text: normalize(w), start: a, end: a + len(w)})
		}
		start = -1
	}
	for i, r := range s {
		switch {
		case r == '@' || r == '&':
			flush(i)
			toks = append(toks, token{text: string(r), start: i, end: i + 1})
		case isWordRune(r):
			if start < 0 {
				start = i
			}
		default:
			flush(i)
		}
	}
	flush(len(s))
	return toks
}

func isWordRune(r rune) bool {
	if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) {
		return true
	}
	switch r {
	case ':', '.', '-', '\'', '’', '/', '–', '—':
		return true
	}
	return false
}

func isDecoration(r rune) bool { return r == '.' || r == '\'' || r == '’' || r == ':' }

func normalize(w string) string {
	w = strings.ReplaceAll(strings.ToLower(w), "’", "'")
	if fixed, ok := typos[w]; ok {
		return fixed
	}
	return w
}

// typos are misspellings of time words seen often enough to read; the title keeps the
// user's spelling, only the rules see the fix.
var typos = map[string]string{
	"tonite": "tonight", "2nite": "tonight", "2morrow": "tomorrow", "tomrrow": "tomorrow", "tomorrw": "tomorrow",
	"mornin": "morning", "evning": "evening", "afternon": "afternoon",
	"mondy": "monday", "tuseday": "tuesday", "tuesdy": "tuesday", "wednsday": "wednesday", "wensday": "wednesday",
	"wedensday": "wednesday", "wendsday": "wednesday", "thurday": "thursday", "thrusday": "thursday",
	"thursay": "thursday", "firday": "friday", "fridy": "friday", "saturady": "saturday", "satruday": "saturday",
	"sunady": "sunday", "minuts": "minutes", "mintues": "minutes", "hous": "hours",
}

func isAny(s string, words ...string) bool { return slices.Contains(words, s) }

var weekdayNames = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
	"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday,
	"saturday": time.Saturday,
}

// Abbreviations collide with ordinary words ("sat", "sun", "wed"), so the
// rules accept them only after on/next/this/every or inside a weekday list.
var weekdayAbbrevs = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "tues": time.Tuesday,
	"wed": time.Wednesday, "weds": time.Wednesday, "thu": time.Thursday,
	"thur": time.Thursday, "thurs": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// WeekdayWord reads one word as a weekday, in any case and with the usual misspellings: a
// full name ("Monday"), a plural ("Mondays", every Monday) or an abbreviation ("Mon", "Tues",
// "thurs"). Abbreviations are ordinary words too ("sat", "sun", "wed"): read them only where a
// day is expected.
func WeekdayWord(word string) (wd time.Weekday, plural, abbrev, ok bool) {
	s := normalize(word)
	if wd, ok := weekdayNames[s]; ok {
		return wd, false, false, true
	}
	if base, found := strings.CutSuffix(s, "s"); found {
		if wd, ok := weekdayNames[base]; ok {
			return wd, true, false, true
		}
	}
	if wd, ok := weekdayAbbrevs[s]; ok {
		return wd, false, true, true
	}
	return 0, false, false, false
}

var monthNames = map[string]time.Month{
	"january": time.January, "jan": time.January, "february": time.February, "feb": time.February,
	"march": time.March, "mar": time.March, "april": time.April, "apr": time.April,
	"may": time.May, "june": time.June, "jun": time.June, "july": time.July, "jul": time.July,
	"august": time.August, "aug": time.August, "september": time.September, "sep": time.September,
	"sept": time.September, "october": time.October, "oct": time.October,
	"november": time.November, "nov": time.November, "december": time.December, "dec": time.December,
}

// partOf maps "morning", "evenings", "night", ... to a Part value.
func partOf(s string) string {
	s = strings.TrimSuffix(s, "s")
	switch s {
	case "morning", "afternoon", "evening":
		return s
	case "night":
		return "evening"
	}
	return ""
}

var numberWords = map[string]int{
	"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
	"eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
	"twenty": 20, "thirty": 30, "forty": 40, "forty-five": 45, "fifty": 50,
	"sixty": 60, "ninety": 90,
}

// parseCount reads a positive count: up to four digits or a number word. The
// digit limit keeps every later calendar computation far from overflow.
func parseCount(s string) (int, bool) {
	if n, ok := numberWords[s]; ok {
		return n, true
	}
	if len(s) == 0 || len(s) > 4 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	return n, true
}
