package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dlclark/regexp2"
	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/slack-go/slack"
	"gopkg.in/yaml.v3"
)

// The Slack app manifest, and Slack's JSON Schema for it. CI checks out
// shared/ beside the repository.
const (
	manifestFile       = "../../manifest.yml"
	manifestSchemaFile = "../../../shared/reference/slack-app-manifest.schema.json"
	repoRoot           = "../.."
)

// webAPIBotScopes holds the bot-token scopes each Slack Web API method needs,
// as Slack's method reference states them (docs.slack.dev/reference/methods/
// <method>, "Scopes"); nil means none.
var webAPIBotScopes = map[string][]string{
	"auth.test": nil,
	// users:read.email: without it the profile has no email, and the email
	// is how Slack users are matched to directory users.
	"users.info": {"users:read", "users:read.email"},
	// Directory users (a target, a manager) are found in Slack by their
	// directory email.
	"users.lookupByEmail": {"users:read.email"},
	"views.open":          nil, "views.update": nil, "views.push": nil, "views.publish": nil,
	// chat:write posts only where the bot is a member: the admin invites the
	// bot to the approval and audit channels instead of granting chat:write.public.
	"chat.postMessage": {"chat:write"}, "chat.update": {"chat:write"},
	"chat.postEphemeral": {"chat:write"}, "chat.delete": {"chat:write"},
	// A 1:1 direct message; mpim:write, channels:manage and groups:write
	// would be for group DMs and channels, which mfadesk never opens.
	"conversations.open": {"im:write"},
	// The approval channel's is_member, for check and readiness: public
	// channels need channels:read, private ones groups:read (im:read and
	// mpim:read would be for DMs, which mfadesk never asks about).
	"conversations.info":           {"channels:read", "groups:read"},
	"files.getUploadURLExternal":   {"files:write"},
	"files.completeUploadExternal": {"files:write"},
	// Socket Mode's connection uses the app-level token (connections:write),
	// not the bot token.
	"apps.connections.open": nil,
}

// slackClientCalls maps the *slack.Client methods that code may call to the
// Web API methods each one calls. A method the code calls that is missing
// here fails TestManifestScopesCoverCode: add it, with the Web API methods
// it calls (read its source in slack-go).
var slackClientCalls = map[string][]string{
	"AuthTest": {"auth.test"}, "AuthTestContext": {"auth.test"},
	"GetUserInfo": {"users.info"}, "GetUserInfoContext": {"users.info"},
	"GetUserByEmail": {"users.lookupByEmail"}, "GetUserByEmailContext": {"users.lookupByEmail"},
	"OpenView": {"views.open"}, "OpenViewContext": {"views.open"},
	"UpdateView": {"views.update"}, "UpdateViewContext": {"views.update"},
	"PushView": {"views.push"}, "PushViewContext": {"views.push"},
	"PublishView": {"views.publish"}, "PublishViewContext": {"views.publish"},
	"PostMessage": {"chat.postMessage"}, "PostMessageContext": {"chat.postMessage"},
	"PostMessageWithResponse": {"chat.postMessage"}, "PostMessageWithResponseContext": {"chat.postMessage"},
	// SendMessage is chat.postMessage unless its options pick another chat.* method.
	"SendMessage":        {"chat.postMessage", "chat.update", "chat.postEphemeral", "chat.delete"},
	"SendMessageContext": {"chat.postMessage", "chat.update", "chat.postEphemeral", "chat.delete"},
	"UpdateMessage":      {"chat.update"}, "UpdateMessageContext": {"chat.update"},
	"PostEphemeral": {"chat.postEphemeral"}, "PostEphemeralContext": {"chat.postEphemeral"},
	"DeleteMessage": {"chat.delete"}, "DeleteMessageContext": {"chat.delete"},
	"OpenConversation": {"conversations.open"}, "OpenConversationContext": {"conversations.open"},
	"GetConversationInfo": {"conversations.info"}, "GetConversationInfoContext": {"conversations.info"},
	// slack-go's UploadFile is the v2 upload: get an upload URL, post the
	// bytes to it, complete the upload into the channel.
	"UploadFile":                    {"files.getUploadURLExternal", "files.completeUploadExternal"},
	"UploadFileContext":             {"files.getUploadURLExternal", "files.completeUploadExternal"},
	"GetUploadURLExternalContext":   {"files.getUploadURLExternal"},
	"UploadToURL":                   nil, // posts to the URL Slack handed out; no Web API method
	"CompleteUploadExternalContext": {"files.completeUploadExternal"},
	"StartSocketModeContext":        {"apps.connections.open"},
}

// notSlackCalls are *slack.Client method names that call no Web API method,
// or are common enough that a call of that name is rarely slack-go's.
var notSlackCalls = []string{"Debug", "Debugf", "Debugln"}

// plannedClientCalls are calls that a feature being built will make, by the
// issue that asks for them. Their scopes count as needed, so the manifest can
// carry them before the code lands; drop an entry once the code calls it.
var plannedClientCalls = map[string]string{
	"UploadFileContext": "issue 5: the weekly digest uploads its chart",
}

// designedWebAPIMethods are the Web API methods mfadesk's Slack bot is
// designed to call (docs/reference.md, "Slack identifiers", and the digest): the bot
// scopes must be exactly theirs plus commands.
var designedWebAPIMethods = []string{
	"auth.test", "users.info", "users.lookupByEmail", "views.open", "views.update",
	"chat.postMessage", "chat.update", "chat.postEphemeral",
	"conversations.open", "conversations.info", "files.getUploadURLExternal", "files.completeUploadExternal",
}

// slashCommandScope is what a slash command (or shortcut) needs.
const slashCommandScope = "commands"

func TestManifestValidatesAgainstSlackSchema(t *testing.T) {
	schema := compileManifestSchema(t)
	if err := schema.Validate(manifestJSON(t, readManifest(t))); err != nil {
		t.Fatalf("%s does not validate against Slack's manifest schema:\n%v", manifestFile, err)
	}
}

func TestManifestSchemaRejectsBrokenManifests(t *testing.T) {
	schema := compileManifestSchema(t)
	good := readManifest(t)
	tests := []struct {
		name string
		edit func(t *testing.T, m map[string]any)
	}{
		{"command without slash", func(t *testing.T, m map[string]any) { manifestSlashCommand(t, m)["command"] = "mfa" }},
		{"unknown top-level key", func(_ *testing.T, m map[string]any) { m["bot"] = true }},
		{"name too long", func(_ *testing.T, m map[string]any) {
			m["display_information"].(map[string]any)["name"] = strings.Repeat("m", 36)
		}},
		{"url without scheme", func(t *testing.T, m map[string]any) {
			manifestSlashCommand(t, m)["url"] = "mfadesk.example.com/slack/commands"
		}},
		{"interactivity without is_enabled", func(_ *testing.T, m map[string]any) {
			delete(m["settings"].(map[string]any)["interactivity"].(map[string]any), "is_enabled")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := parseManifest(t, good)
			tt.edit(t, m)
			if err := schema.Validate(manifestToJSON(t, m)); err == nil {
				t.Errorf("the schema accepted a manifest with %s", tt.name)
			}
		})
	}
}

func TestManifestSettings(t *testing.T) {
	m := parseManifest(t, readManifest(t))
	if got := manifestValue(m, "_metadata", "major_version"); got != 1.0 {
		t.Errorf("_metadata.major_version = %v, want 1", got)
	}
	if got := manifestValue(m, "features", "bot_user", "display_name"); got != "mfadesk" {
		t.Errorf("features.bot_user.display_name = %v, want mfadesk", got)
	}
	cmd := manifestSlashCommand(t, m)
	if cmd["should_escape"] != true {
		t.Errorf("/mfa should_escape = %v, want true: the bot reads mentions as <@U123|name>", cmd["should_escape"])
	}
	if u, _ := cmd["url"].(string); !strings.HasSuffix(u, "/slack/commands") {
		t.Errorf("/mfa url = %q, want one ending in /slack/commands (docs/reference.md)", u)
	}
	hint, _ := cmd["usage_hint"].(string)
	for _, sub := range []string{"help", "pending", "status", "cancel"} {
		if !strings.Contains(hint, sub) {
			t.Errorf("/mfa usage_hint %q does not mention %q", hint, sub)
		}
	}
	if got := manifestValue(m, "settings", "interactivity", "is_enabled"); got != true {
		t.Errorf("settings.interactivity.is_enabled = %v, want true: modals and buttons need it", got)
	}
	if u, _ := manifestValue(m, "settings", "interactivity", "request_url").(string); !strings.HasSuffix(u, "/slack/interactivity") {
		t.Errorf("settings.interactivity.request_url = %q, want one ending in /slack/interactivity (docs/reference.md)", u)
	}
	if got := manifestValue(m, "settings", "socket_mode_enabled"); got != true {
		t.Errorf("settings.socket_mode_enabled = %v, want true", got)
	}
	for _, k := range []string{"org_deploy_enabled", "token_rotation_enabled"} {
		if got := manifestValue(m, "settings", k); got != false {
			t.Errorf("settings.%s = %v, want false", k, got)
		}
	}
}

func TestManifestBotScopesAreTheDesignedOnes(t *testing.T) {
	declared := manifestBotScopes(t, parseManifest(t, readManifest(t)))
	want := map[string]bool{slashCommandScope: true}
	for _, method := range designedWebAPIMethods {
		scopes, ok := webAPIBotScopes[method]
		if !ok {
			t.Fatalf("designedWebAPIMethods names %s, which webAPIBotScopes lacks", method)
		}
		for _, s := range scopes {
			want[s] = true
		}
	}
	if diff := cmp.Diff(sortedMapKeys(want), sortedMapKeys(declared)); diff != "" {
		t.Errorf("manifest.yml bot scopes (-want +got):\n%s", diff)
	}
}

func TestManifestScopesCoverCode(t *testing.T) {
	clientMethods := slackClientMethods()
	for name, apis := range slackClientCalls {
		if !clientMethods[name] {
			t.Errorf("slackClientCalls names %s, which *slack.Client does not have", name)
		}
		for _, api := range apis {
			if _, ok := webAPIBotScopes[api]; !ok {
				t.Errorf("slackClientCalls: %s calls %s, which webAPIBotScopes lacks", name, api)
			}
		}
	}
	for _, name := range notSlackCalls {
		if !clientMethods[name] {
			t.Errorf("notSlackCalls names %s, which *slack.Client does not have", name)
		}
	}
	for name := range plannedClientCalls {
		if _, ok := slackClientCalls[name]; !ok {
			t.Errorf("plannedClientCalls names %s, which slackClientCalls lacks", name)
		}
	}

	found := findSlackClientCalls(t, repoRoot, clientMethods)
	if len(found) == 0 {
		t.Fatalf("found no call of a *slack.Client method under %s: the scan is broken", repoRoot)
	}
	m := parseManifest(t, readManifest(t))
	features, _ := m["features"].(map[string]any)
	hasCommands := features["slash_commands"] != nil || features["shortcuts"] != nil
	neededBy, problems := scopeProblems(found, manifestBotScopes(t, m), hasCommands)
	for _, name := range sortedMapKeys(plannedClientCalls) {
		if locs, ok := found[name]; ok {
			t.Logf("plannedClientCalls: %s is called now (%s); its entry can go", name, locs[0])
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
	for _, s := range sortedMapKeys(neededBy) {
		t.Logf("%s: %s", s, strings.Join(neededBy[s], "; "))
	}
}

func TestManifestScopeProblems(t *testing.T) {
	tests := []struct {
		name     string
		found    map[string][]string
		declared []string
		commands bool
		want     []string // a substring of each problem, in order
	}{
		{
			name:     "covered",
			found:    map[string][]string{"PostMessageContext": {"bot/a.go:1"}, "AuthTestContext": {"cmd/b.go:2"}},
			declared: []string{"chat:write", "commands", "files:write"},
			commands: true,
		},
		{
			name:     "unknown client method",
			found:    map[string][]string{"GetConversationHistoryContext": {"bot/a.go:7"}},
			declared: []string{"files:write"},
			want:     []string{"GetConversationHistoryContext (bot/a.go:7), a *slack.Client method missing from slackClientCalls"},
		},
		{
			name:     "missing scope",
			found:    map[string][]string{"GetUserInfoContext": {"bot/a.go:3"}},
			declared: []string{"users:read", "files:write"},
			want:     []string{"lacks bot scope users:read.email, which users.info needs: GetUserInfoContext calls it at bot/a.go:3"},
		},
		{
			name:     "extra scope",
			found:    map[string][]string{"OpenViewContext": {"bot/a.go:1"}},
			declared: []string{"files:write", "channels:read", "commands"},
			want: []string{
				"declares bot scope channels:read, which no method the code calls needs",
				"declares bot scope commands, which no method the code calls needs",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			declared := map[string]bool{}
			for _, s := range tt.declared {
				declared[s] = true
			}
			_, problems := scopeProblems(tt.found, declared, tt.commands)
			if len(problems) != len(tt.want) {
				t.Fatalf("problems = %q, want %d", problems, len(tt.want))
			}
			for i, want := range tt.want {
				if !strings.Contains(problems[i], want) {
					t.Errorf("problem %d = %q, want it to contain %q", i, problems[i], want)
				}
			}
		})
	}
}

// scopeProblems checks the declared bot scopes against found, the
// *slack.Client calls in the code (method name -> where), plus
// plannedClientCalls and, if hasCommands, the slash command. It returns what
// needs each scope, and a problem per unknown call, missing scope or scope
// nothing needs.
func scopeProblems(found map[string][]string, declared map[string]bool, hasCommands bool) (neededBy map[string][]string, problems []string) {
	neededBy = map[string][]string{}
	for _, name := range sortedMapKeys(found) {
		apis, ok := slackClientCalls[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("the code calls %s (%s), a *slack.Client method missing from slackClientCalls in cmd/mfadesk/manifest_test.go: add it with the Web API methods it calls",
				name, strings.Join(found[name], ", ")))
			continue
		}
		for _, api := range apis {
			for _, s := range webAPIBotScopes[api] {
				neededBy[s] = append(neededBy[s], fmt.Sprintf("%s (%s at %s)", api, name, found[name][0]))
				if !declared[s] {
					problems = append(problems, fmt.Sprintf("manifest.yml lacks bot scope %s, which %s needs: %s calls it at %s",
						s, api, name, strings.Join(found[name], ", ")))
				}
			}
		}
	}
	for _, name := range sortedMapKeys(plannedClientCalls) {
		for _, api := range slackClientCalls[name] {
			for _, s := range webAPIBotScopes[api] {
				neededBy[s] = append(neededBy[s], fmt.Sprintf("%s (planned, %s)", api, plannedClientCalls[name]))
			}
		}
	}
	if hasCommands {
		neededBy[slashCommandScope] = append(neededBy[slashCommandScope], "features.slash_commands")
	}
	for _, s := range sortedMapKeys(declared) {
		if len(neededBy[s]) == 0 {
			problems = append(problems, fmt.Sprintf("manifest.yml declares bot scope %s, which no method the code calls needs: remove it", s))
		}
	}
	return neededBy, problems
}

func TestManifestScanFindsClientCalls(t *testing.T) {
	// The tree holds calls in a test file, under testdata, in a hidden
	// directory and in a file that is not Go: none count.
	got := findSlackClientCalls(t, filepath.Join("testdata", "slackcalls"), slackClientMethods())
	want := map[string][]string{
		"PostEphemeralContext": {"a/a.go:13"},
		"AuthTest":             {"a/a.go:14"},
		"UploadFileContext":    {"a/a.go:16"},
		"GetUserInfoContext":   {"b/b.go:3"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findSlackClientCalls (-want +got):\n%s", diff)
	}
}

// slackClientMethods returns the names of *slack.Client's methods.
func slackClientMethods() map[string]bool {
	typ := reflect.TypeFor[*slack.Client]()
	names := make(map[string]bool, typ.NumMethod())
	for i := range typ.NumMethod() {
		names[typ.Method(i).Name] = true
	}
	return names
}

// findSlackClientCalls parses the non-test Go files under root (skipping
// testdata, vendor and hidden directories) and returns, for each method of
// *slack.Client that is called, where: "dir/file.go:line", slash-separated
// and relative to root. Without type information any call x.Name(...) whose
// Name is a *slack.Client method counts, unless x is an imported package or
// Name is in notSlackCalls: a false match shows up as a test failure naming
// the call, never as a missed one.
func findSlackClientCalls(t *testing.T, root string, methods map[string]bool) map[string][]string {
	t.Helper()
	fset := token.NewFileSet()
	found := map[string][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		imports := scanImportNames(f)
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !methods[sel.Sel.Name] || slices.Contains(notSlackCalls, sel.Sel.Name) {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && imports[id.Name] {
				return true
			}
			loc := filepath.ToSlash(rel) + ":" + strconv.Itoa(fset.Position(sel.Sel.Pos()).Line)
			found[sel.Sel.Name] = append(found[sel.Sel.Name], loc)
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatalf("scan %s for Slack calls: %v", root, err)
	}
	for _, locs := range found {
		sort.Strings(locs)
	}
	return found
}

// scanImportNames returns the names under which f refers to its imports. A
// path's last element stands in for the package name, which is right for
// every import whose name could matter here.
func scanImportNames(f *ast.File) map[string]bool {
	names := map[string]bool{}
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		name := path.Base(p)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		names[name] = true
	}
	return names
}

func readManifest(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(manifestFile)
	if err != nil {
		t.Fatalf("read the Slack app manifest: %v", err)
	}
	return b
}

// parseManifest decodes the YAML manifest into the values a JSON decoder
// would give (maps with string keys, float64 numbers), by way of JSON: a
// mapping key that is not a string fails, as it has no JSON form.
func parseManifest(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var raw any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		t.Fatalf("parse %s: %v", manifestFile, err)
	}
	j, err := json.Marshal(raw)
	if err != nil {
		t.Fatalf("%s has no JSON form: %v", manifestFile, err)
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		t.Fatalf("%s is not a mapping: %v", manifestFile, err)
	}
	return m
}

// manifestJSON returns the manifest as the schema validator wants it.
func manifestJSON(t *testing.T, b []byte) any {
	t.Helper()
	return manifestToJSON(t, parseManifest(t, b))
}

// manifestToJSON round-trips v through encoding/json so that numbers and types are
// exactly what the validator expects of a JSON document.
func manifestToJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("manifest as JSON: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("manifest as JSON: %v", err)
	}
	return doc
}

// compileManifestSchema compiles Slack's manifest schema. Its patterns use
// look-ahead, which Go's regexp lacks, so patterns go to regexp2 in
// ECMAScript mode, the dialect JSON Schema specifies.
func compileManifestSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(manifestSchemaFile)
	if errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Slack's manifest schema is missing at %s: the tests expect the shared/ directory (shared/reference/slack-app-manifest.schema.json) beside this repository, as CI has it", manifestSchemaFile)
	}
	if err != nil {
		t.Fatalf("open the manifest schema: %v", err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("parse %s: %v", manifestSchemaFile, err)
	}
	abs, err := filepath.Abs(manifestSchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.UseRegexpEngine(ecmaRegexp)
	if err := c.AddResource(abs, doc); err != nil {
		t.Fatalf("add %s: %v", manifestSchemaFile, err)
	}
	schema, err := c.Compile(abs)
	if err != nil {
		t.Fatalf("compile %s: %v", manifestSchemaFile, err)
	}
	return schema
}

// ecmaRegexp is a jsonschema.RegexpEngine backed by regexp2.
func ecmaRegexp(expr string) (jsonschema.Regexp, error) {
	re, err := regexp2.Compile(expr, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	re.MatchTimeout = time.Second
	return regexp2Matcher{re}, nil
}

type regexp2Matcher struct{ re *regexp2.Regexp }

// MatchString reports a match; a match that times out is no match.
func (m regexp2Matcher) MatchString(s string) bool {
	ok, err := m.re.MatchString(s)
	return err == nil && ok
}

func (m regexp2Matcher) String() string { return m.re.String() }

// manifestValue follows keys through nested mappings; nil if one is missing.
func manifestValue(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// manifestSlashCommand returns the manifest's /mfa command.
func manifestSlashCommand(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	cmds, _ := manifestValue(m, "features", "slash_commands").([]any)
	for _, c := range cmds {
		if c, ok := c.(map[string]any); ok && c["command"] == "/mfa" {
			return c
		}
	}
	t.Fatalf("%s has no slash command /mfa", manifestFile)
	return nil
}

// manifestBotScopes returns oauth_config.scopes.bot, failing on a duplicate.
func manifestBotScopes(t *testing.T, m map[string]any) map[string]bool {
	t.Helper()
	list, _ := manifestValue(m, "oauth_config", "scopes", "bot").([]any)
	scopes := map[string]bool{}
	for _, s := range list {
		name, ok := s.(string)
		if !ok {
			t.Fatalf("oauth_config.scopes.bot holds %v, not a string", s)
		}
		if scopes[name] {
			t.Errorf("oauth_config.scopes.bot lists %s twice", name)
		}
		scopes[name] = true
	}
	return scopes
}

func sortedMapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
