package digestview

import (
	"fmt"
	"io"
	"strings"

	"github.com/mfadesk/mfadesk/actions/digest"
)

// Text renders d as plain text, with the same content as Blocks: what
// `mfadesk digest --print` writes. Lists are cut as in Slack.
func Text(d digest.Digest) string {
	var b strings.Builder
	for _, p := range layout(d, textStyle{}) {
		switch p.kind {
		case partHeader:
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			fmt.Fprintf(&b, "%s\n%s\n", p.title, strings.Repeat("=", len([]rune(p.title))))
		case partContext:
			fmt.Fprintf(&b, "%s\n", strings.Join(p.lines, " · "))
		case partDivider: // sections are apart already
		case partCode:
			fmt.Fprintf(&b, "\n%s\n", p.title)
			for _, l := range p.lines {
				fmt.Fprintf(&b, "  %s\n", strings.TrimRight(l, " "))
			}
		case partSection:
			if len(p.lines) > 0 || p.title != "" {
				writeTextSection(&b, p)
			}
			for _, f := range p.fields {
				writeTextSection(&b, f)
			}
		}
	}
	return b.String()
}

func writeTextSection(b *strings.Builder, p part) {
	b.WriteByte('\n')
	if p.title != "" {
		fmt.Fprintf(b, "%s\n", p.title)
	}
	for _, l := range p.lines {
		if p.bullets {
			fmt.Fprintf(b, "  - %s\n", l)
		} else {
			fmt.Fprintf(b, "%s\n", l)
		}
	}
	if p.more > 0 {
		fmt.Fprintf(b, "  …and %d more\n", p.more)
	}
}

// WriteText writes Text(d) to w.
func WriteText(w io.Writer, d digest.Digest) error {
	_, err := io.WriteString(w, Text(d))
	return err
}
