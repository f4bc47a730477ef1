package fakegraph

import (
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/mfadesk/mfadesk/actions/fakeapi"
)

// metadata is Microsoft Graph's published v1.0 metadata (an excerpt), kept
// in shared/reference beside the repository; a missing file fails the test
// (CI has shared/ beside the repository).
var metadata = fakeapi.NewSpec("Graph metadata", "graph-v1.0-excerpt.csdl.xml", parseCSDL)

// csdlModel is what the fake Graph knows of the metadata: entity and complex
// types with their properties and navigations, and bound actions.
type csdlModel struct {
	types   map[string]*csdlType
	actions map[string][]string // action name -> binding parameter types
}

type csdlType struct {
	complex bool
	base    string
	props   map[string]string // name -> type
	navs    map[string]string // name -> target type
}

type xmlEdmx struct {
	Schemas []struct {
		Entities  []xmlType `xml:"EntityType"`
		Complexes []xmlType `xml:"ComplexType"`
		Actions   []struct {
			Name   string    `xml:"Name,attr"`
			Bound  string    `xml:"IsBound,attr"`
			Params []xmlProp `xml:"Parameter"`
		} `xml:"Action"`
	} `xml:"DataServices>Schema"`
}

type xmlType struct {
	Name  string    `xml:"Name,attr"`
	Base  string    `xml:"BaseType,attr"`
	Props []xmlProp `xml:"Property"`
	Navs  []xmlProp `xml:"NavigationProperty"`
}

type xmlProp struct {
	Name string `xml:"Name,attr"`
	Type string `xml:"Type,attr"`
}

func parseCSDL(data []byte) (*csdlModel, error) {
	var doc xmlEdmx
	if err := xml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	m := &csdlModel{types: map[string]*csdlType{}, actions: map[string][]string{}}
	add := func(x xmlType, complex bool) {
		ty := &csdlType{complex: complex, base: shortType(x.Base), props: map[string]string{}, navs: map[string]string{}}
		for _, p := range x.Props {
			ty.props[p.Name] = shortType(p.Type)
		}
		for _, n := range x.Navs {
			ty.navs[n.Name] = shortType(n.Type)
		}
		m.types[x.Name] = ty
	}
	for _, s := range doc.Schemas {
		for _, e := range s.Entities {
			add(e, false)
		}
		for _, c := range s.Complexes {
			add(c, true)
		}
		for _, a := range s.Actions {
			if a.Bound != "true" || len(a.Params) == 0 {
				continue
			}
			m.actions[a.Name] = append(m.actions[a.Name], shortType(a.Params[0].Type))
		}
	}
	for _, need := range []string{"user", "passwordProfile", "authentication", "directoryRole"} {
		if m.types[need] == nil {
			return nil, fmt.Errorf("no type %s in the metadata", need)
		}
	}
	return m, nil
}

// shortType turns "Collection(graph.phoneAuthenticationMethod)" into
// "phoneAuthenticationMethod".
func shortType(t string) string {
	t = strings.TrimSuffix(strings.TrimPrefix(t, "Collection("), ")")
	t = strings.TrimPrefix(t, "microsoft.graph.")
	return strings.TrimPrefix(t, "graph.")
}

// prop finds a property of typ or of a base type.
func (m *csdlModel) prop(typ, name string) (string, bool) {
	for ty := m.types[typ]; ty != nil; ty = m.types[ty.base] {
		if p, ok := ty.props[name]; ok {
			return p, true
		}
	}
	return "", false
}

// nav finds a navigation property of typ or of a base type.
func (m *csdlModel) nav(typ, name string) (string, bool) {
	for ty := m.types[typ]; ty != nil; ty = m.types[ty.base] {
		if n, ok := ty.navs[name]; ok {
			return n, true
		}
	}
	return "", false
}

// isEntity reports whether name is an entity type (for OData casts).
func (m *csdlModel) isEntity(name string) bool {
	ty := m.types[name]
	return ty != nil && !ty.complex
}

// boundAction reports whether action name can be bound to typ.
func (m *csdlModel) boundAction(name, typ string) bool {
	name = strings.TrimPrefix(name, "microsoft.graph.")
	for _, b := range m.actions[name] {
		if b == typ {
			return true
		}
	}
	return false
}

// checkBody refuses any key of body that is not a property of typ, looking
// into complex-typed properties.
func (m *csdlModel) checkBody(typ string, body map[string]any) error {
	for k, v := range body {
		if strings.HasPrefix(k, "@odata.") {
			continue
		}
		pt, ok := m.prop(typ, k)
		if !ok {
			return fmt.Errorf("Property '%s' does not exist as a declared property or extension property on microsoft.graph.%s", k, typ)
		}
		if ct := m.types[pt]; ct != nil && ct.complex {
			sub, ok := v.(map[string]any)
			if !ok && v != nil {
				return fmt.Errorf("property '%s' wants an object of microsoft.graph.%s", k, pt)
			}
			if err := m.checkBody(pt, sub); err != nil {
				return err
			}
		}
	}
	return nil
}
