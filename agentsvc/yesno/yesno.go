// Package yesno reads yes and no, from one list of words, for the two places that take them:
// Answer reads a whole answer to a yes-or-no question (onboarding), Reply a short reply to
// something proposed (a plan, a move or a cancellation in the chat). The time words are
// timeparse's; these are not time words, so they live beside it.
package yesno

import (
	"slices"
	"strings"
	"unicode"
)

// The words and phrases (of up to three words), lower case with ' for ’. Each says yes or no
// where its list says.
var (
	// Anywhere: in a whole answer and at the start of a reply.
	yes = []string{"yes", "y", "yeah", "yep", "yup", "ya", "sure", "ok", "okay", "confirm", "confirmed",
		"affirmative", "perfect", "great", "sounds good", "looks good", "👍"}
	no = []string{"no", "n", "nope", "nah"}
	// Only at the start of a reply to something proposed: they accept or drop it.
	replyYes = []string{"approve", "approves", "approved", "go ahead", "do it", "let's do it", "lets do it"}
	replyNo  = []string{"cancel", "stop", "forget it", "never mind", "nevermind", "abandon", "drop it"}
	// Only in a whole answer: a reply may as well start a request with them ("please move
	// it", "not at 5", "right after lunch").
	answerYes = []string{"right", "correct", "please", "true", "absolutely", "definitely", "exactly", "why not"}
	answerNo  = []string{"not", "never", "wrong", "don't", "dont", "incorrect", "false"}
)

// Answer reads a whole answer to a yes-or-no question: yes when it says yes and nothing in it
// says no ("sure, why not", "that's right"). ok is false when it says neither or both.
func Answer(text string) (yes, ok bool) {
	hasYes, hasNo := false, false
	for w := words(text); len(w) > 0; {
		y, n := match(w, answerYes, answerNo)
		hasYes, hasNo = hasYes || n > 0 && y, hasNo || n > 0 && !y
		w = w[max(n, 1):]
	}
	return hasYes && !hasNo, hasYes != hasNo
}

// Reply reads a short reply to something proposed: it starts with a yes or a no and is no
// longer than four words, without a comma, semicolon or question mark ("yes please", "no
// thanks"). A sentence that starts with one is a request of its own ("no, make it evenings").
func Reply(text string) (yes, ok bool) {
	if len(strings.Fields(text)) > 4 || strings.ContainsAny(text, ",;?") {
		return false, false
	}
	yes, n := match(words(text), replyYes, replyNo)
	return yes, n > 0
}

// match reads the longest phrase at the start of w, from yes and no and the two lists given;
// n is the number of its words, 0 for none.
func match(w []string, moreYes, moreNo []string) (isYes bool, n int) {
	for k := min(3, len(w)); k > 0; k-- {
		p := strings.Join(w[:k], " ")
		for i, l := range [][]string{yes, no, moreYes, moreNo} {
			if slices.Contains(l, p) {
				return i%2 == 0, k
			}
		}
	}
	return false, 0
}

// words splits text into lower-case words of letters, digits, apostrophes, "_" and "/" ("n/a"
// is one) and "👍"; anything else separates.
func words(text string) []string {
	t := strings.NewReplacer("’", "'", "👍", " 👍 ").Replace(strings.ToLower(text))
	w := strings.FieldsFunc(t, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) && !strings.ContainsRune("'_/👍", r)
	})
	for i := range w {
		w[i] = strings.Trim(w[i], "'")
	}
	return w
}
