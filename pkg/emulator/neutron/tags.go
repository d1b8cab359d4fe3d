package neutron

import (
	"net/http"
	"slices"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// MaxTagLen is tagging.MAX_TAG_LEN.
const MaxTagLen = 60

func validateTag(tag string) error {
	if len([]rune(tag)) > MaxTagLen {
		return invalidInput("'%s' exceeds maximum length of %d", tag, MaxTagLen)
	}
	return nil
}

// parseTags validates type:list_of_unique_strings.
func parseTags(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, invalidInput("'%s' is not a list", pyStr(v))
	}
	out := make([]string, 0, len(list))
	var dups []string
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, invalidInput("'%s' is not a valid string", pyStr(e))
		}
		if err := validateTag(s); err != nil {
			return nil, err
		}
		if slices.Contains(out, s) {
			dups = append(dups, s)
			continue
		}
		out = append(out, s)
	}
	if len(dups) > 0 {
		return nil, invalidInput("Duplicate items in the list: '%s'", joinComma(dups))
	}
	return out, nil
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// tagTarget returns the standard attributes of the resource the caller may
// see (TagResourceNotFound otherwise), and for writes checks ownership.
func (n *Neutron) tagTarget(s *state, c *caller, k *kind, id string, write bool) (*Std, error) {
	st, err := k.std(s, c, id)
	if err != nil {
		return nil, errf(http.StatusNotFound, "TagResourceNotFound", "Resource %s %s could not be found.", k.resource, id)
	}
	if write && !c.owns(st.ProjectID) {
		return nil, policyRefused("rule:update_" + k.resource)
	}
	return st, nil
}

func tagsOf(st *Std) []string {
	if st.Tags == nil {
		return []string{}
	}
	return append([]string{}, st.Tags...)
}

func (n *Neutron) listTags(w http.ResponseWriter, r *http.Request, k *kind) error {
	c := callerOf(r)
	var tags []string
	err := n.state.View(func(s *state) error {
		st, err := n.tagTarget(s, c, k, r.PathValue("id"), false)
		if err == nil {
			tags = tagsOf(st)
		}
		return err
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"tags": tags})
	return nil
}

func (n *Neutron) checkTag(w http.ResponseWriter, r *http.Request, k *kind) error {
	c := callerOf(r)
	tag := r.PathValue("tag")
	if err := validateTag(tag); err != nil {
		return err
	}
	err := n.state.View(func(s *state) error {
		st, err := n.tagTarget(s, c, k, r.PathValue("id"), false)
		if err != nil {
			return err
		}
		if !slices.Contains(st.Tags, tag) {
			return errf(http.StatusNotFound, "TagNotFound", "Tag %s could not be found.", tag)
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (n *Neutron) replaceTags(w http.ResponseWriter, r *http.Request, k *kind) error {
	c := callerOf(r)
	body, err := readBody(r)
	if err != nil {
		return err
	}
	v, ok := body["tags"]
	if !ok {
		return invalidInput("Invalid tags body")
	}
	tags, err := parseTags(v)
	if err != nil {
		return err
	}
	err = n.state.Update(func(s *state) error {
		st, err := n.tagTarget(s, c, k, r.PathValue("id"), true)
		if err != nil {
			return err
		}
		st.Tags = tags
		n.touch(st)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"tags": tags})
	return nil
}

func (n *Neutron) addTag(w http.ResponseWriter, r *http.Request, k *kind) error {
	c := callerOf(r)
	tag := r.PathValue("tag")
	if err := validateTag(tag); err != nil {
		return err
	}
	err := n.state.Update(func(s *state) error {
		st, err := n.tagTarget(s, c, k, r.PathValue("id"), true)
		if err != nil {
			return err
		}
		if !slices.Contains(st.Tags, tag) {
			st.Tags = append(st.Tags, tag)
			n.touch(st)
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (n *Neutron) deleteTag(w http.ResponseWriter, r *http.Request, k *kind) error {
	c := callerOf(r)
	tag := r.PathValue("tag")
	if err := validateTag(tag); err != nil {
		return err
	}
	err := n.state.Update(func(s *state) error {
		st, err := n.tagTarget(s, c, k, r.PathValue("id"), true)
		if err != nil {
			return err
		}
		i := slices.Index(st.Tags, tag)
		if i < 0 {
			return errf(http.StatusNotFound, "TagNotFound", "Tag %s could not be found.", tag)
		}
		st.Tags = slices.Delete(st.Tags, i, i+1)
		n.touch(st)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (n *Neutron) deleteTags(w http.ResponseWriter, r *http.Request, k *kind) error {
	c := callerOf(r)
	err := n.state.Update(func(s *state) error {
		st, err := n.tagTarget(s, c, k, r.PathValue("id"), true)
		if err != nil {
			return err
		}
		st.Tags = nil
		n.touch(st)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
