package main

import (
	"bufio"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// dockerBuildCommand is the go build command of the Dockerfile's build
// stage, run from the repository root. The README quotes it; the tests check
// that the Dockerfile runs exactly this and that it builds a static binary.
const dockerBuildCommand = `CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/mfadesk ./cmd/mfadesk`

const (
	dockerfilePath   = "../../Dockerfile"
	dockerignorePath = "../../.dockerignore"
)

// dockerInstruction is one Dockerfile instruction, continuation lines joined.
type dockerInstruction struct {
	cmd  string // upper case: RUN, COPY, ...
	args string
	line int
}

// dockerStage is a FROM and the instructions up to the next FROM.
type dockerStage struct {
	image, name string
	insts       []dockerInstruction
}

func TestDockerfile(t *testing.T) {
	stages := readDockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stage(s), want a build stage and a runtime stage", len(stages))
	}
	build, run, buildEnv, buildCmd := dockerBuildStage(t, stages)

	// The build stage: the Go of go.mod, modules cached apart from the source.
	if want := "golang:" + goModMinorVersion(t) + "-"; !strings.HasPrefix(build.image, want) && build.image != strings.TrimSuffix(want, "-") {
		t.Errorf("build stage FROM %s, want %s… (the go directive of go.mod)", build.image, want)
	}
	order := []string{"COPY go.mod go.sum ./", "RUN go mod download", "COPY . .", "RUN " + buildCmd}
	last := -1
	for _, want := range order {
		i := slices.IndexFunc(build.insts, func(in dockerInstruction) bool { return in.cmd+" "+in.args == want })
		if i < 0 {
			t.Errorf("build stage lacks %q", want)
			continue
		}
		if i < last {
			t.Errorf("build stage: %q comes too early; want the order %q (layers cached until go.mod or go.sum change)", want, order)
		}
		last = i
	}
	env, argv := splitBuildCommand(t, buildEnv, buildCmd)
	if env["CGO_ENABLED"] != "0" || env["GOOS"] != "linux" {
		t.Errorf("go build runs with CGO_ENABLED=%q GOOS=%q, want 0 and linux", env["CGO_ENABLED"], env["GOOS"])
	}
	if !slices.Contains(argv, "-trimpath") {
		t.Errorf("go build %q lacks -trimpath", argv)
	}
	out := goBuildOutput(t, argv)

	// The runtime stage: distroless, non-root, the binary as entrypoint.
	if !strings.HasPrefix(run.image, "gcr.io/distroless/static") || !strings.Contains(run.image, ":nonroot") {
		t.Errorf("runtime stage FROM %s, want gcr.io/distroless/static…:nonroot", run.image)
	}
	// Numeric: Kubernetes' runAsNonRoot refuses a user name it cannot
	// verify ("image has non-numeric user (nonroot)").
	if got := dockerLastArgs(run, "USER"); got != "65532:65532" {
		t.Errorf("runtime stage USER %q, want 65532:65532 (distroless nonroot, numeric for runAsNonRoot)", got)
	}
	if want := fmt.Sprintf("--from=%s %s /mfadesk", build.name, out); !slices.ContainsFunc(run.insts, func(in dockerInstruction) bool {
		return in.cmd == "COPY" && in.args == want
	}) {
		t.Errorf("runtime stage lacks COPY %s: the binary go build writes, at the entrypoint's path", want)
	}
	if !slices.ContainsFunc(run.insts, func(in dockerInstruction) bool {
		f := strings.Fields(in.args)
		return in.cmd == "COPY" && len(f) > 0 && strings.TrimSuffix(f[len(f)-1], "/") == "/data" &&
			(slices.Contains(f, "--chown=65532:65532") || slices.Contains(f, "--chown=nonroot:nonroot"))
	}) {
		t.Errorf("runtime stage does not create /data owned by nonroot (COPY --chown=65532:65532 … /data/): the database could not be written")
	}
	if got := dockerLastArgs(run, "WORKDIR"); got != "/data" {
		t.Errorf("runtime stage WORKDIR %q, want /data", got)
	}
	if got := dockerExecForm(t, dockerLastArgs(run, "VOLUME")); !slices.Contains(got, "/data") {
		t.Errorf("runtime stage VOLUME %q, want /data", got)
	}
	if got := dockerExecForm(t, dockerLastArgs(run, "ENTRYPOINT")); !slices.Equal(got, []string{"/mfadesk"}) {
		t.Errorf("runtime stage ENTRYPOINT %q, want [\"/mfadesk\"]", got)
	}
	if got := dockerExecForm(t, dockerLastArgs(run, "CMD")); !slices.Equal(got, []string{"serve"}) {
		t.Errorf("runtime stage CMD %q, want [\"serve\"]", got)
	}
	if got := dockerLastArgs(run, "EXPOSE"); got != "8080" {
		t.Errorf("runtime stage EXPOSE %q, want 8080 (MFADESK_HTTP_ADDR's default)", got)
	}
	runEnv := stageEnv(t, run, len(run.insts))
	if got := runEnv["MFADESK_DATABASE_URL"]; got != "sqlite:/data/mfadesk.db" {
		t.Errorf("runtime MFADESK_DATABASE_URL = %q, want sqlite:/data/mfadesk.db (in the volume)", got)
	}
	if got := runEnv["MFADESK_POLICY_FILE"]; got != "/etc/mfadesk/policy.yaml" {
		t.Errorf("runtime MFADESK_POLICY_FILE = %q, want /etc/mfadesk/policy.yaml", got)
	}
	for _, st := range stages {
		for k := range stageEnv(t, st, len(st.insts)) {
			if strings.Contains(k, "TOKEN") || strings.Contains(k, "SECRET") {
				t.Errorf("Dockerfile sets %s: secrets belong in the runtime environment, not in an image", k)
			}
		}
	}
}

func TestDockerfileBuildCommandBuildsStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mfadesk: skipped with -short")
	}
	_, _, buildEnv, buildCmd := dockerBuildStage(t, readDockerfile(t))
	env, argv := splitBuildCommand(t, buildEnv, buildCmd)
	goBuildOutput(t, argv) // fails without -o FILE
	bin := filepath.Join(t.TempDir(), "mfadesk")
	argv = slices.Clone(argv)
	argv[slices.Index(argv, "-o")+1] = bin

	goTool, err := exec.LookPath(argv[0])
	if err != nil {
		t.Fatalf("the build command runs %s: %v", argv[0], err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, argv[1:]...)
	cmd.Dir = repoRoot
	cmd.Env = os.Environ()
	for _, k := range sortedMapKeys(env) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s (in %s): %v\n%s", dockerBuildCommand, repoRoot, err, out)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("the build command did not write an ELF binary: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("binary has a %v program header: it is dynamically linked and will not run on distroless/static", p.Type)
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		t.Errorf("binary imports shared libraries %q", libs)
	}
}

func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile(dockerignorePath)
	if err != nil {
		t.Fatalf("read .dockerignore: %v", err)
	}
	patterns := strings.Split(string(b), "\n")
	for _, p := range []string{".git", ".git/config", "mfadesk.db", "mfadesk.db-wal", "data/mfadesk.db", "mfadesk", ".env"} {
		if !dockerIgnored(patterns, p) {
			t.Errorf(".dockerignore lets %s into the build context", p)
		}
	}
	for _, p := range buildInputs(t) {
		if dockerIgnored(patterns, p) {
			t.Errorf(".dockerignore excludes %s, which the build needs", p)
		}
	}
}

func TestDockerignoreMatching(t *testing.T) {
	patterns := []string{"# comment", "", "/bin", "*.db", "**/*.log", "docs", "!docs/keep.md", "a?c"}
	tests := map[string]bool{
		"bin": true, "bin/x": true, "cmd/bin": false,
		"x.db": true, "d/x.db": false,
		"x.log": true, "a/b/x.log": true,
		"docs/a.md": true, "docs/keep.md": false,
		"abc": true, "abbc": false, "a/c": false,
		"main.go": false,
	}
	for p, want := range tests {
		if got := dockerIgnored(patterns, p); got != want {
			t.Errorf("dockerIgnored(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestDockerfileParsing(t *testing.T) {
	src := "# syntax=docker/dockerfile:1\nFROM --platform=$BUILDPLATFORM golang:1 AS b\n" +
		"ARG X=1\nENV A=1 B=\"two words\"\nENV C 3\nRUN echo \\\n  # a comment inside\n  done\n" +
		"FROM scratch\nCOPY --from=b /x /x\n"
	stages, err := parseDockerfile(src)
	if err != nil {
		t.Fatal(err)
	}
	want := []dockerStage{
		{image: "golang:1", name: "b", insts: []dockerInstruction{
			{cmd: "ARG", args: "X=1", line: 3},
			{cmd: "ENV", args: `A=1 B="two words"`, line: 4},
			{cmd: "ENV", args: "C 3", line: 5},
			{cmd: "RUN", args: "echo done", line: 6},
		}},
		{image: "scratch", insts: []dockerInstruction{{cmd: "COPY", args: "--from=b /x /x", line: 10}}},
	}
	if diff := cmp.Diff(want, stages, cmp.AllowUnexported(dockerStage{}, dockerInstruction{})); diff != "" {
		t.Errorf("parseDockerfile (-want +got):\n%s", diff)
	}
	env := stageEnv(t, stages[0], len(stages[0].insts))
	if diff := cmp.Diff(map[string]string{"X": "1", "A": "1", "B": "two words", "C": "3"}, env); diff != "" {
		t.Errorf("stageEnv (-want +got):\n%s", diff)
	}
}

func readDockerfile(t *testing.T) []dockerStage {
	t.Helper()
	b, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatalf("read Dockerfile: %v", err)
	}
	stages, err := parseDockerfile(string(b))
	if err != nil {
		t.Fatalf("parse Dockerfile: %v", err)
	}
	return stages
}

// parseDockerfile splits a Dockerfile into stages of instructions, joining
// continuation lines and dropping comments.
func parseDockerfile(src string) ([]dockerStage, error) {
	var stages []dockerStage
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(strings.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = n
		} else {
			cur.WriteByte(' ')
		}
		if body, ok := strings.CutSuffix(strings.TrimRight(line, " \t"), `\`); ok {
			cur.WriteString(strings.TrimSpace(body))
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		cur.Reset()
		in := dockerInstruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		if in.cmd == "FROM" {
			f := slices.DeleteFunc(strings.Fields(in.args), func(s string) bool { return strings.HasPrefix(s, "--") })
			if len(f) == 0 {
				return nil, fmt.Errorf("line %d: FROM without an image", in.line)
			}
			st := dockerStage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			if in.cmd == "ARG" {
				continue // a global ARG, for FROM lines
			}
			return nil, fmt.Errorf("line %d: %s before FROM", in.line, in.cmd)
		}
		stages[len(stages)-1].insts = append(stages[len(stages)-1].insts, in)
	}
	if cur.Len() > 0 {
		return nil, fmt.Errorf("line %d: continuation at the end of the file", start)
	}
	return stages, sc.Err()
}

// dockerBuildStage returns the stage whose RUN runs go build, the last stage
// (the runtime), the stage's ARG and ENV in effect at that RUN, and its
// command line.
func dockerBuildStage(t *testing.T, stages []dockerStage) (build, run dockerStage, buildEnv map[string]string, buildCmd string) {
	t.Helper()
	var found []string
	for _, st := range stages {
		for i, in := range st.insts {
			if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
				found = append(found, fmt.Sprintf("line %d", in.line))
				build, buildEnv, buildCmd = st, stageEnv(t, st, i), runCommand(t, in)
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("Dockerfile has %d RUN … go build … (%v), want 1", len(found), found)
	}
	if build.name == "" {
		t.Fatalf("the build stage (FROM %s) has no name: the runtime stage copies from it with --from=NAME", build.image)
	}
	run = stages[len(stages)-1]
	if run.name == build.name {
		t.Fatalf("the build stage is the last one: want a separate runtime stage")
	}
	if buildCmd != dockerBuildCommand {
		t.Errorf("the Dockerfile's build command differs from dockerBuildCommand, which the README quotes:\n got: %s\nwant: %s", buildCmd, dockerBuildCommand)
	}
	return build, run, buildEnv, buildCmd
}

// runCommand returns a RUN's shell command, without RUN's own --flags.
func runCommand(t *testing.T, in dockerInstruction) string {
	t.Helper()
	s := in.args
	for strings.HasPrefix(s, "--") {
		_, s, _ = strings.Cut(s, " ")
		s = strings.TrimSpace(s)
	}
	if strings.HasPrefix(s, "[") {
		t.Fatalf("line %d: RUN in exec form: want the shell form that the tests can replay", in.line)
	}
	return s
}

// stageEnv returns the ARG defaults and ENV values set by a stage's first n
// instructions.
func stageEnv(t *testing.T, st dockerStage, n int) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, in := range st.insts[:n] {
		if in.cmd != "ENV" && in.cmd != "ARG" {
			continue
		}
		words, err := dockerShellWords(in.args)
		if err != nil {
			t.Fatalf("line %d: %v", in.line, err)
		}
		if in.cmd == "ENV" && len(words) > 0 && !strings.Contains(words[0], "=") {
			k, v, _ := strings.Cut(in.args, " ") // the old ENV KEY value form
			env[k] = strings.TrimSpace(v)
			continue
		}
		for _, w := range words {
			if k, v, ok := strings.Cut(w, "="); ok {
				env[k] = v
			}
		}
	}
	return env
}

// splitBuildCommand splits the go build command line into its environment
// (the stage's, overridden by leading NAME=value words) and argv.
func splitBuildCommand(t *testing.T, buildEnv map[string]string, line string) (env map[string]string, argv []string) {
	t.Helper()
	if strings.ContainsAny(line, "&|;$`<>()") {
		t.Fatalf("the build command %q uses shell syntax the tests cannot replay: keep it one plain command", line)
	}
	words, err := dockerShellWords(line)
	if err != nil {
		t.Fatalf("the build command: %v", err)
	}
	env = maps.Clone(buildEnv)
	for len(words) > 0 && regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`).MatchString(words[0]) {
		k, v, _ := strings.Cut(words[0], "=")
		env[k] = v
		words = words[1:]
	}
	if len(words) < 2 || words[0] != "go" || words[1] != "build" {
		t.Fatalf("the build command runs %q, want go build", words)
	}
	return env, words
}

// goBuildOutput returns go build's -o value.
func goBuildOutput(t *testing.T, argv []string) string {
	t.Helper()
	i := slices.Index(argv, "-o")
	if i < 0 || i+1 >= len(argv) {
		t.Fatalf("go build %q has no -o FILE", argv)
	}
	return argv[i+1]
}

// dockerShellWords splits s as sh would split plain words: quotes and backslashes,
// no expansions.
func dockerShellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
			inWord = true
		case c == '\'' || c == '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, fmt.Errorf("unterminated %c in %q", c, s)
			}
			w.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// dockerLastArgs returns the arguments of a stage's last cmd instruction.
func dockerLastArgs(st dockerStage, cmd string) string {
	for _, in := range slices.Backward(st.insts) {
		if in.cmd == cmd {
			return in.args
		}
	}
	return ""
}

// dockerExecForm decodes a JSON array argument; plain words otherwise.
func dockerExecForm(t *testing.T, args string) []string {
	t.Helper()
	if !strings.HasPrefix(args, "[") {
		return strings.Fields(args)
	}
	var v []string
	if err := json.Unmarshal([]byte(args), &v); err != nil {
		t.Fatalf("%s: %v", args, err)
	}
	return v
}

// goModMinorVersion returns go.mod's go directive as major.minor.
func goModMinorVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("go.mod has no go directive")
	}
	return string(m[1])
}

// dockerIgnored reports whether .dockerignore's patterns leave the
// slash-separated path p out of the build context: the last pattern that
// matches p, or a directory above it, decides; a !pattern lets it back in.
func dockerIgnored(patterns []string, p string) bool {
	ignored := false
	for _, pat := range patterns {
		pat = strings.TrimSpace(pat)
		if pat == "" || strings.HasPrefix(pat, "#") {
			continue
		}
		include := strings.HasPrefix(pat, "!")
		pat = strings.TrimPrefix(path.Clean("/"+strings.TrimPrefix(pat, "!")), "/")
		re := dockerPatternRegexp(pat)
		for q := p; q != "." && q != "/"; q = path.Dir(q) {
			if re.MatchString(q) {
				ignored = !include
				break
			}
		}
	}
	return ignored
}

// dockerPatternRegexp translates a .dockerignore pattern: * and ? stop at a
// slash, ** crosses them.
func dockerPatternRegexp(pat string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pat); i++ {
		switch c := pat[i]; {
		case strings.HasPrefix(pat[i:], "**/"):
			b.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(pat[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '\\' && i+1 < len(pat):
			i++
			b.WriteString(regexp.QuoteMeta(pat[i : i+1]))
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// buildInputs lists, relative to the module root, what go build reads: go.mod,
// go.sum, every non-test Go file and the files they embed.
func buildInputs(t *testing.T) []string {
	t.Helper()
	inputs := []string{"go.mod", "go.sum"}
	embed := regexp.MustCompile(`^//go:embed\s+(.+)$`)
	fset := token.NewFileSet()
	err := filepath.WalkDir(repoRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != repoRoot && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(repoRoot, p)
		inputs = append(inputs, filepath.ToSlash(rel))
		f, err := parser.ParseFile(fset, p, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				m := embed.FindStringSubmatch(c.Text)
				if m == nil {
					continue
				}
				pats, err := dockerShellWords(strings.ReplaceAll(m[1], "`", `"`))
				if err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
				for _, pat := range pats {
					matches, _ := filepath.Glob(filepath.Join(filepath.Dir(p), strings.TrimPrefix(pat, "all:")))
					for _, match := range matches {
						filepath.WalkDir(match, func(e string, d fs.DirEntry, err error) error {
							if err == nil && !d.IsDir() {
								rel, _ := filepath.Rel(repoRoot, e)
								inputs = append(inputs, filepath.ToSlash(rel))
							}
							return nil
						})
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list the build's inputs: %v", err)
	}
	return inputs
}
