package actions

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// yamlLinePrefix is how yaml.v3 starts a syntax error: "yaml: line N: ".
var yamlLinePrefix = regexp.MustCompile(`^yaml: (line \d+: )?`)

// maxSyntaxSearchLines bounds the search for a syntax error's line; a policy
// file is far shorter.
const maxSyntaxSearchLines = 5000

// yamlSyntaxError reports a YAML syntax error of file as "FILE:LINE: …" with
// the line at fault. yaml.v3 names the line where the enclosing block began
// (often line 1), not the line that breaks it; the first prefix of the file
// that fails to parse ends at the line that does.
func yamlSyntaxError(file string, data []byte, err error) error {
	msg := yamlLinePrefix.ReplaceAllString(err.Error(), "")
	line := firstFailingLine(data)
	if line == 0 {
		return fmt.Errorf("%s: YAML syntax: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return fmt.Errorf("%s:%d: YAML syntax: %s", file, line, msg)
}

// firstFailingLine is the number of lines of the shortest prefix of data
// that does not parse, or 0 when none is found.
func firstFailingLine(data []byte) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > maxSyntaxSearchLines {
		return 0
	}
	end := 0
	for i, l := range lines {
		end += len(l)
		var n yaml.Node
		if yaml.Unmarshal(data[:end], &n) != nil {
			return i + 1
		}
	}
	return 0
}
