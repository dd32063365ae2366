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
	{"remind", "me", "to"}, {"remind", "me", "about"}, {"remind", "me"},
	{"reminder", "to"}, {"reminder"},
	{"don't", "forget", "to"}, {"dont", "forget", "to"}, {"remember", "to"},
	{"can", "you"}, {"could", "you"}, {"would", "you"}, {"hey"},
	{"to"}, {"and"}, {"then"},
}

var trailingBoilerplate = [][]string{{"remind", "me"}, {"and"}, {"then"}}

// cleanTitle turns what is left of the message into a title.
func cleanTitle(s string) string {
	var words []string
	for _, w := range strings.Fields(s) {
		k := titleKey(w)
		if isAny(k, "please", "pls", "plz") || onlyPunct(w) {
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
	if r, n := utf8.DecodeRuneInString(out); r != utf8.RuneError {
		out = string(unicode.ToUpper(r)) + out[n:]
	}
	return out
}

// titleKey compares words without case or surrounding punctuation
// ("Reminder:" is "reminder").
func titleKey(w string) string {
	return normalize(strings.Trim(w, ",.;:!?\"'()[]’"))
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
func onlyPunct(w string) bool {
	if w == "&" {
		return false
	}
	for _, r := range w {
		if !unicode.IsPunct(r) {
			return false
		}
	}
	return true
}
