package fakeslack

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/mfadesk/mfadesk/actions/fakeapi"
)

// excerpt is Slack's published Web API description (an excerpt), kept in
// shared/reference beside the repository.
var excerpt = fakeapi.NewSpec("Slack Web API excerpt", "slack-web-api-excerpt.json", parseExcerpt)

// methodSpec is what the excerpt documents of one method: its arguments and
// the error codes it may answer.
type methodSpec struct {
	args   []string
	errors []string
}

// parseExcerpt reads what the excerpt documents of each method.
func parseExcerpt(b []byte) (map[string]methodSpec, error) {
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name string `json:"name"`
			} `json:"parameters"`
			Responses struct {
				Default struct {
					Schema struct {
						Properties struct {
							Error struct {
								Enum []string `json:"enum"`
							} `json:"error"`
						} `json:"properties"`
					} `json:"schema"`
				} `json:"default"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	methods := map[string]methodSpec{}
	for path, ops := range doc.Paths {
		for _, op := range ops {
			var m methodSpec
			for _, p := range op.Parameters {
				m.args = append(m.args, p.Name)
			}
			m.errors = op.Responses.Default.Schema.Properties.Error.Enum
			methods[strings.TrimPrefix(path, "/")] = m
		}
	}
	return methods, nil
}

// documented answers method's call with the handler's result, after checking
// the arguments and the error code against the published description: an
// undocumented argument is refused with invalid_arg_name (as Slack does), and
// an error code the description does not list is recorded (Undocumented).
func (s *Server) documented(method string, h handler) handler {
	return func(a map[string]string) (obj, string) {
		spec, err := excerpt.Load()
		if err != nil {
			s.undocumented.Add(method + ": " + err.Error())
			return nil, "fatal_error"
		}
		m := spec[method]
		for k := range a {
			if !slices.Contains(m.args, k) {
				s.undocumented.Add(method + ": argument " + k)
				return nil, "invalid_arg_name"
			}
		}
		res, code := h(a)
		if code != "" && !slices.Contains(m.errors, code) {
			s.undocumented.Add(method + ": error " + code)
		}
		return res, code
	}
}

// Undocumented lists what the bot sent, or the fake answered, that Slack's
// published description does not document, for the methods the fake checks
// (users.lookupByEmail). A test should find it empty.
func (s *Server) Undocumented() []string { return s.undocumented.List() }

// usersLookupByEmail finds a user by the email on their profile, as Slack
// does: case-insensitive, users_not_found when none has it. A deactivated
// account is returned with deleted: true.
func (s *Server) usersLookupByEmail(a map[string]string) (obj, string) {
	email := strings.TrimSpace(a["email"])
	if email == "" {
		return nil, "users_not_found"
	}
	var match []User
	for _, u := range s.users {
		if strings.EqualFold(u.Email, email) {
			match = append(match, u)
		}
	}
	if len(match) == 0 {
		return nil, "users_not_found"
	}
	// An active account wins over a deactivated one with the same email.
	slices.SortFunc(match, func(x, y User) int {
		if x.Deleted != y.Deleted {
			if x.Deleted {
				return 1
			}
			return -1
		}
		return strings.Compare(x.ID, y.ID)
	})
	return obj{"user": userJSON(match[0])}, ""
}
