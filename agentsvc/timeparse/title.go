package timeparse

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Reminder boilerplate removed from the start of the title, longest first
// within each family so "remind me to" wins over "remind me". "to", "and"
// and "then" are what is left dangling once a leading time is cut
// ("tomorrow at 8 to take vitamins").
var leadingBoilerplate = [][]string{
	{"set", "a", "reminder", "to"}, {"set", "a", "reminder", "for"}, {"set", "a", "reminder"},
	{"add", "a", "reminder", "to"}, {"add", "a", "reminder", "for"}, {"add", "a", "reminder"},
	{"i", "need", "a", "reminder", "to"}, {"i", "need", "a", "reminder", "for"}, {"i", "need", "a", "reminder"},
	{"remind", "me", "to"}, {"remind", "me", "too"}, {"remind", "me", "about"}, {"remind", "me", "that"},
	{"remind", "me", "of"}, {"remind", "me"},
	{"reminder", "to"}, {"reminder", "for"}, {"reminder"},
	{"don't", "let", "me", "forget", "to"}, {"dont", "let", "me", "forget", "to"},
	{"don't", "let", "me", "forget"}, {"dont", "let", "me", "forget"},
	{"help", "me", "remember", "to"}, {"help", "me", "remember"},
	{"don't", "forget", "to"}, {"dont", "forget", "to"}, {"remember", "to"},
	{"make", "sure", "i"}, {"make", "sure", "to"}, {"note", "to", "self"},
	{"i", "need", "to"}, {"i", "have", "to"}, {"i", "gotta"}, {"gotta"}, {"i", "must"},
	{"can", "you"}, {"could", "you"}, {"would", "you"}, {"hey"}, {"hi"}, {"yo"}, {"ok"}, {"okay"}, {"flux"},
	{"to"}, {"and"}, {"then"},
}

// Trailing words: boilerplate, and a preposition left dangling once its time was cut
// ("call mom at" from "call mom at 25:99").
var trailingBoilerplate = [][]string{{"remind", "me"}, {"and"}, {"then"},
	{"at"}, {"on"}, {"by"}, {"in"}, {"for"}, {"from"}, {"to"}, {"this"}, {"next"}, {"every"}, {"each"}, {"around"}}

// commandTypos are misspellings of the command words; titles are compared with them fixed.
var commandTypos = map[string]string{
	"remnd": "remind", "remidn": "remind", "reminde": "remind", "rmind": "remind", "remaind": "remind",
	"remid": "remind", "remine": "remind", "remin": "remind", "reimnd": "remind", "reminf": "remind",
	"reminer": "reminder", "remider": "reminder", "remindr": "reminder",
}

// cleanTitle turns what is left of the message into a title.
func cleanTitle(s string) string {
	var words []string
	for _, w := range strings.Fields(s) {
		k := titleKey(w)
		if isAny(k, "please", "pls", "plz") || onlyPunct(w) || !hasLetterOrDigit(w) {
			continue
		}
		words = append(words, w)
	}
	for changed := true; changed && len(words) > 0; {
		changed = false
		for _, b := range leadingBoilerplate {
			if len(words) >= len(b) && wordsEqual(words[:len(b)], b) {
				words, changed = words[len(b):], true
				break
			}
		}
		for _, b := range trailingBoilerplate {
			if len(words) >= len(b) && wordsEqual(words[len(words)-len(b):], b) {
				words, changed = words[:len(words)-len(b)], true
				break
			}
		}
	}
	out := strings.TrimFunc(strings.Join(words, " "), func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(",.;:!?-–—", r)
	})
	if shouting(out) {
		out = strings.ToLower(out)
	}
	if r, n := utf8.DecodeRuneInString(out); r != utf8.RuneError {
		out = string(unicode.ToUpper(r)) + out[n:]
	}
	return out
}

// hasLetterOrDigit: a word that is only emoji or symbols ("📞") is decoration, not title.
func hasLetterOrDigit(w string) bool {
	return strings.ContainsFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '&' })
}

// shouting: a title typed in capitals ("CALL THE BANK") is sentence-cased; one capital word
// ("call NASA") is not.
func shouting(s string) bool {
	letters, lower := 0, false
	for _, r := range s {
		if unicode.IsLetter(r) {
			letters++
			lower = lower || unicode.IsLower(r)
		}
	}
	return letters >= 2 && !lower && strings.Contains(s, " ")
}

// titleKey compares words without case or surrounding punctuation
// ("Reminder:" is "reminder").
func titleKey(w string) string {
	k := normalize(strings.Trim(w, ",.;:!?\"'()[]’"))
	if fixed, ok := commandTypos[k]; ok {
		return fixed
	}
	return k
}

func wordsEqual(words, phrase []string) bool {
	for i, p := range phrase {
		if titleKey(words[i]) != p {
			return false
		}
	}
	return true
}

// onlyPunct reports a word that is nothing but punctuation, such as the
// comma left behind when "tomorrow" is cut from "call mom, tomorrow, at 5".
// "&" stays: it means "and" inside a title.
func onlyPunct(w string) bool { return w != "&" && strings.TrimFunc(w, unicode.IsPunct) == "" }
