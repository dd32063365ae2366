package bench

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/flux-companion/flux/agentsvc/graph"
)

// NLUConfig of an nlu run.
type NLUConfig struct {
	Corpus  string // a corpus file; "" for the one built in (agentsvc/graph/testdata/nlu_corpus.json)
	Verbose bool   // also list every entry read wrong
	Out     io.Writer
}

// RunNLU reads the corpus of what people type with the offline assistant (no model, no
// database) and prints how much of it was read exactly right: entries, exactly right, the
// share, and the share per expected kind. The last line printed is "nlu: <share>% exactly
// right of <n> entries".
func RunNLU(cfg NLUConfig) (graph.Report, error) {
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	src := graph.Corpus
	if cfg.Corpus != "" {
		b, err := os.ReadFile(cfg.Corpus)
		if err != nil {
			return graph.Report{}, fmt.Errorf("bench nlu: %w", err)
		}
		src = b
	}
	rep, err := graph.EvaluateCorpus(bytes.NewReader(src))
	if err != nil {
		return rep, fmt.Errorf("bench nlu: %w", err)
	}
	rep.Print(out)
	if cfg.Verbose {
		for _, f := range rep.Failures {
			fmt.Fprintf(out, "wrong #%d %q\n  want %s\n  got  %s\n", f.Index, f.Text, f.Want, f.Got)
			if f.Miss != "" {
				fmt.Fprintf(out, "  known miss: %s\n", f.Miss)
			}
		}
	}
	fmt.Fprintf(out, "nlu: %.1f%% exactly right of %d entries\n", 100*rep.Share(), rep.Entries)
	return rep, nil
}
