package heat

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// The HOT intrinsic functions (heat/engine/hot/functions.py), by the
// template version that introduced them.
var functionSince = map[string]string{
	"get_attr": "2013-05-23", "get_file": "2014-10-16", "get_param": "2013-05-23", "get_resource": "2013-05-23",
	"list_join": "2014-10-16", "repeat": "2014-10-16", "str_replace": "2013-05-23", "digest": "2015-04-30",
	"str_split": "2015-10-15", "map_merge": "2016-04-08", "map_replace": "2016-10-14", "if": "2016-10-14",
	"yaql": "2016-10-14", "filter": "2017-02-24", "str_replace_strict": "2017-02-24",
	"str_replace_vstrict": "2018-03-02", "make_url": "2018-03-02", "list_concat": "2018-03-02",
	"list_concat_unique": "2018-03-02", "contains": "2018-03-02", "resource_facade": "2013-05-23",
}

// removed are CFN functions HOT refuses.
var removed = []string{"Fn::Select", "Fn::GetAZs", "Fn::Join", "Fn::Split", "Fn::Replace", "Fn::Base64",
	"Fn::MemberListToMap", "Fn::ResourceFacade", "Ref", "Fn::GetAtt"}

// conditionFunctions are the functions of the conditions section.
var conditionFunctions = map[string]string{"get_param": "2016-10-14", "equals": "2016-10-14", "not": "2016-10-14",
	"and": "2016-10-14", "or": "2016-10-14", "yaql": "2017-09-01", "contains": "2018-03-02"}

// evalCtx resolves the functions of one template for one stack.
type evalCtx struct {
	t      *tmpl
	params map[string]any
	files  map[string]string
	// ref is get_resource (a resource's reference id); attr is get_attr.
	// Both may be nil while only checking a template.
	ref  func(name string) (any, error)
	attr func(name string, attr string) (any, error)
	// conds caches evaluated conditions.
	conds map[string]bool
}

// fnCall returns the function name and argument when v is a function
// call of this template's version.
func (e *evalCtx) fnCall(v any, condition bool) (string, any, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", nil, false
	}
	for k, a := range m {
		table := functionSince
		if condition {
			table = conditionFunctions
		}
		if since, ok := table[k]; ok && e.t.atLeast(since) {
			return k, a, true
		}
		if containsStr(removed, k) {
			return k, a, true
		}
	}
	return "", nil, false
}

// eval resolves every function in v.
func (e *evalCtx) eval(v any) (any, error) {
	if name, arg, ok := e.fnCall(v, false); ok {
		return e.call(name, arg)
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e2 := range x {
			r, err := e.eval(e2)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for _, e2 := range x {
			r, err := e.eval(e2)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	}
	return v, nil
}

func typeErr(format string, args ...any) error {
	return heatErr(400, "StackValidationFailed", format, args...)
}

func (e *evalCtx) call(name string, arg any) (any, error) {
	if containsStr(removed, name) {
		return nil, heatErr(400, "InvalidTemplateVersion", "The template version is invalid: The function %s is not supported in this version of HOT.", name)
	}
	switch name {
	case "get_param":
		return e.getParam(arg)
	case "get_resource":
		a, err := e.eval(arg)
		if err != nil {
			return nil, err
		}
		rn, ok := a.(string)
		if !ok {
			return nil, typeErr("Argument to \"get_resource\" must be a string")
		}
		if _, ok := e.t.resources[rn]; !ok {
			return nil, heatErr(400, "InvalidTemplateReference", "The specified reference \"%s\" (in unknown) is incorrect.", rn)
		}
		if e.ref == nil {
			return nil, nil
		}
		return e.ref(rn)
	case "get_attr":
		return e.getAttr(arg)
	case "get_file":
		a, err := e.eval(arg)
		if err != nil {
			return nil, err
		}
		fn, ok := a.(string)
		if !ok {
			return nil, typeErr("Argument to \"get_file\" must be a string")
		}
		c, ok := e.files[fn]
		if !ok {
			return nil, typeErr("No content found in the \"files\" section for get_file path: %s", fn)
		}
		return c, nil
	case "str_replace", "str_replace_strict", "str_replace_vstrict":
		return e.strReplace(name, arg)
	case "list_join":
		return e.listJoin(arg)
	case "str_split":
		return e.strSplit(arg)
	case "map_merge":
		a, err := e.eval(arg)
		if err != nil {
			return nil, err
		}
		l, ok := a.([]any)
		if !ok {
			return nil, typeErr("Incorrect arguments to \"map_merge\" should be: [{'key1': 'val1'}, {'key2': 'val2'}]")
		}
		out := map[string]any{}
		for _, m := range l {
			if m == nil {
				continue
			}
			mm, ok := m.(map[string]any)
			if !ok {
				return nil, typeErr("Incorrect arguments: Items to merge must be maps.")
			}
			for k, v := range mm {
				out[k] = v
			}
		}
		return out, nil
	case "map_replace":
		return e.mapReplace(arg)
	case "repeat":
		return e.repeat(arg)
	case "digest":
		a, err := e.eval(arg)
		if err != nil {
			return nil, err
		}
		l, ok := a.([]any)
		if !ok || len(l) != 2 {
			return nil, typeErr("Function \"digest\" usage: [\"<algorithm>\", \"<value>\"]")
		}
		alg, _ := l[0].(string)
		val, ok := l[1].(string)
		if !ok {
			return nil, typeErr("Argument to function \"digest\" must be a list of strings")
		}
		var h hash.Hash
		switch alg {
		case "md5":
			h = md5.New()
		case "sha1":
			h = sha1.New()
		case "sha224":
			h = sha256.New224()
		case "sha256":
			h = sha256.New()
		case "sha384":
			h = sha512.New384()
		case "sha512":
			h = sha512.New()
		default:
			return nil, typeErr("Algorithm must be one of ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512']")
		}
		h.Write([]byte(val))
		return hex.EncodeToString(h.Sum(nil)), nil
	case "if":
		l, ok := arg.([]any)
		if !ok || len(l) != 3 {
			return nil, typeErr("Arguments to \"if\" must be of the form: [condition_name, value_if_true, value_if_false]")
		}
		c, err := e.condition(l[0])
		if err != nil {
			return nil, err
		}
		if c {
			return e.eval(l[1])
		}
		return e.eval(l[2])
	case "filter":
		a, err := e.eval(arg)
		if err != nil {
			return nil, err
		}
		l, ok := a.([]any)
		if !ok || len(l) != 2 {
			return nil, typeErr("Arguments to \"filter\" must be of the form: [values_to_filter, source]")
		}
		drop, _ := l[0].([]any)
		src, ok := l[1].([]any)
		if !ok {
			return nil, typeErr("\"filter\" only works with lists")
		}
		out := []any{}
		for _, x := range src {
			keep := true
			for _, d := range drop {
				if jsonStr(d) == jsonStr(x) {
					keep = false
				}
			}
			if keep {
				out = append(out, x)
			}
		}
		return out, nil
	case "list_concat", "list_concat_unique":
		a, err := e.eval(arg)
		if err != nil {
			return nil, err
		}
		l, ok := a.([]any)
		if !ok {
			return nil, typeErr("Incorrect arguments to \"%s\" should be: [[\"v1\", \"v2\"], [\"v3\", \"v4\"]]", name)
		}
		out := []any{}
		seen := map[string]bool{}
		for _, sub := range l {
			if sub == nil {
				continue
			}
			sl, ok := sub.([]any)
			if !ok {
				return nil, typeErr("Incorrect arguments to \"%s\" should be: [[\"v1\", \"v2\"], [\"v3\", \"v4\"]]", name)
			}
			for _, x := range sl {
				if name == "list_concat_unique" {
					k := jsonStr(x)
					if seen[k] {
						continue
					}
					seen[k] = true
				}
				out = append(out, x)
			}
		}
		return out, nil
	case "contains":
		a, err := e.eval(arg)
		if err != nil {
			return nil, err
		}
		l, ok := a.([]any)
		if !ok || len(l) != 2 {
			return nil, typeErr("Arguments to \"contains\" must be of the form: [value1, [value1, value2]]")
		}
		seq, ok := l[1].([]any)
		if !ok {
			return nil, typeErr("Arguments to \"contains\" must be of the form: [value1, [value1, value2]]")
		}
		for _, x := range seq {
			if jsonStr(x) == jsonStr(l[0]) {
				return true, nil
			}
		}
		return false, nil
	case "make_url":
		a, err := e.eval(arg)
		if err != nil {
			return nil, err
		}
		m, ok := a.(map[string]any)
		if !ok {
			return nil, typeErr("The arguments to \"make_url\" must be a map")
		}
		u := url.URL{Scheme: fmt.Sprint(orDefault(m["scheme"], "http")), Host: fmt.Sprint(orDefault(m["host"], "")),
			Path: fmt.Sprint(orDefault(m["path"], "")), Fragment: fmt.Sprint(orDefault(m["fragment"], ""))}
		if p, ok := m["port"]; ok && p != nil {
			u.Host += ":" + pyStr(p)
		}
		if q, ok := m["query"].(map[string]any); ok {
			vals := url.Values{}
			for k, v := range q {
				vals.Set(k, pyStr(v))
			}
			u.RawQuery = vals.Encode()
		}
		return u.String(), nil
	case "yaql":
		return nil, typeErr("The function \"yaql\" is not supported by the emulator")
	case "resource_facade":
		return nil, typeErr("The function \"resource_facade\" is only valid in a nested stack's template")
	}
	return nil, typeErr("Unknown function %s", name)
}

func orDefault(v any, d any) any {
	if v == nil {
		return d
	}
	return v
}

func (e *evalCtx) getParam(arg any) (any, error) {
	a, err := e.eval(arg)
	if err != nil {
		return nil, err
	}
	var name string
	var path []any
	switch x := a.(type) {
	case string:
		name = x
	case []any:
		if len(x) == 0 {
			return nil, typeErr("Function \"get_param\" must have arguments")
		}
		s, ok := x[0].(string)
		if !ok {
			return nil, typeErr("Parameter name in \"get_param\" must be string")
		}
		name, path = s, x[1:]
	default:
		return nil, typeErr("Argument to \"get_param\" must be string or list")
	}
	v, ok := e.params[name]
	if !ok {
		return nil, heatErr(400, "UserParameterMissing", "The Parameter (%s) was not provided.", name)
	}
	return selectPath(v, path)
}

// selectPath is attributes.select_from_attribute: keys into maps,
// indexes into lists.
func selectPath(v any, path []any) (any, error) {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[pyStr(p)]
		case []any:
			i, err := strconv.Atoi(pyStr(p))
			if err != nil || i < 0 || i >= len(x) {
				return nil, nil
			}
			v = x[i]
		case nil:
			return nil, nil
		default:
			return nil, typeErr("\"get_param\" can't traverse path")
		}
	}
	return v, nil
}

func (e *evalCtx) getAttr(arg any) (any, error) {
	l, ok := arg.([]any)
	if !ok || len(l) < 1 {
		return nil, typeErr("Arguments to \"get_attr\" must be of the form [resource_name, attribute, (path), ...]")
	}
	args, err := e.eval(l)
	if err != nil {
		return nil, err
	}
	al := args.([]any)
	rn, ok := al[0].(string)
	if !ok {
		return nil, typeErr("Arguments to \"get_attr\" must be of the form [resource_name, attribute, (path), ...]")
	}
	if _, ok := e.t.resources[rn]; !ok {
		return nil, heatErr(400, "InvalidTemplateReference", "The specified reference \"%s\" (in unknown) is incorrect.", rn)
	}
	if len(al) < 2 {
		if !e.t.atLeast("2017-02-24") {
			return nil, typeErr("Arguments to \"get_attr\" must be of the form [resource_name, attribute, (path), ...]")
		}
		if e.attr == nil {
			return nil, nil
		}
		return e.attr(rn, "")
	}
	an := pyStr(al[1])
	if e.attr == nil {
		return nil, nil
	}
	v, err := e.attr(rn, an)
	if err != nil || v == nil {
		return v, err
	}
	return selectPath(v, al[2:])
}

// replacement is how str_replace writes a parameter value.
func replacement(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b), true
	}
	return pyStr(v), true
}

func (e *evalCtx) strReplace(name string, arg any) (any, error) {
	m, ok := arg.(map[string]any)
	if !ok {
		return nil, typeErr("Arguments to \"%s\" must be a map", name)
	}
	tv, hasT := m["template"]
	pv, hasP := m["params"]
	if !hasT || !hasP || len(m) != 2 {
		return nil, typeErr("\"%s\" syntax should be %s:\n  template: This is var1 template var2\n  params:\n    var1: a\n    var2: b", name, name)
	}
	t, err := e.eval(tv)
	if err != nil {
		return nil, err
	}
	p, err := e.eval(pv)
	if err != nil {
		return nil, err
	}
	tmplStr, ok := t.(string)
	if !ok {
		if t == nil {
			return nil, nil
		}
		return nil, typeErr("\"%s\" template must be a string", name)
	}
	params, ok := p.(map[string]any)
	if !ok {
		return nil, typeErr("\"%s\" params must be a map", name)
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	// Longest first, as Heat's single regex with sorted alternatives.
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) > len(keys[j])
		}
		return keys[i] < keys[j]
	})
	if name != "str_replace" {
		var missing []string
		for _, k := range keys {
			if !strings.Contains(tmplStr, k) {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			return nil, typeErr("The following params were not found in the template: %s", strings.Join(missing, ","))
		}
	}
	repl := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		s, ok := replacement(params[k])
		if name == "str_replace_vstrict" && (!ok || s == "") {
			return nil, typeErr("%s has an undefined or empty value for param %s", name, k)
		}
		repl = append(repl, k, s)
	}
	if len(repl) == 0 {
		return tmplStr, nil
	}
	return strings.NewReplacer(repl...).Replace(tmplStr), nil
}

func (e *evalCtx) listJoin(arg any) (any, error) {
	a, err := e.eval(arg)
	if err != nil {
		return nil, err
	}
	l, ok := a.([]any)
	if !ok || len(l) < 2 {
		return nil, typeErr("Incorrect arguments to \"list_join\" should be: list_join:\n- <delim>\n- [\"s1\", \"s2\", ...]")
	}
	delim, ok := l[0].(string)
	if !ok {
		return nil, typeErr("\"list_join\" delimiter must be a string")
	}
	var parts []string
	for _, sub := range l[1:] {
		if sub == nil {
			continue
		}
		sl, ok := sub.([]any)
		if !ok {
			return nil, typeErr("\"list_join\" must operate on a list")
		}
		for _, x := range sl {
			switch y := x.(type) {
			case nil:
				parts = append(parts, "")
			case string:
				parts = append(parts, y)
			case map[string]any, []any:
				b, _ := json.Marshal(y)
				parts = append(parts, string(b))
			default:
				return nil, typeErr("Items to join must be string, map or list not %s", pyTypeName(x))
			}
		}
	}
	return strings.Join(parts, delim), nil
}

func (e *evalCtx) strSplit(arg any) (any, error) {
	a, err := e.eval(arg)
	if err != nil {
		return nil, err
	}
	l, ok := a.([]any)
	if !ok || len(l) < 2 || len(l) > 3 {
		return nil, typeErr("Incorrect arguments to \"str_split\" should be: str_split:\n- <delim>\n- <string>\n- <index>")
	}
	delim, _ := l[0].(string)
	s, ok := l[1].(string)
	if !ok {
		if l[1] == nil {
			return nil, nil
		}
		return nil, typeErr("Incorrect arguments to \"str_split\" should be: str_split:\n- <delim>\n- <string>\n- <index>")
	}
	parts := strings.Split(s, delim)
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	if len(l) == 3 {
		i, err := strconv.Atoi(pyStr(l[2]))
		if err != nil || i < 0 || i >= len(out) {
			return nil, typeErr("Incorrect index to \"str_split\" should be between 0 and %d", len(out)-1)
		}
		return out[i], nil
	}
	return out, nil
}

func (e *evalCtx) mapReplace(arg any) (any, error) {
	a, err := e.eval(arg)
	if err != nil {
		return nil, err
	}
	l, ok := a.([]any)
	if !ok || len(l) != 2 {
		return nil, typeErr("Incorrect arguments to \"map_replace\" should be: map_replace: [{'k1': 'v1', 'k2': 'v2'}, {'keys': {'k1': 'K1'}, 'values': {'v1': 'V1'}}]")
	}
	in, ok := l[0].(map[string]any)
	rep, ok2 := l[1].(map[string]any)
	if !ok || !ok2 {
		return nil, typeErr("Incorrect arguments: to \"map_replace\", arguments must be a list of maps")
	}
	keys, _ := rep["keys"].(map[string]any)
	vals, _ := rep["values"].(map[string]any)
	out := map[string]any{}
	for k, v := range in {
		nk := k
		if r, ok := keys[k]; ok {
			nk = pyStr(r)
			if _, clash := in[nk]; clash {
				return nil, typeErr("key replacement %s collides with a key in the input map", nk)
			}
		}
		if _, dup := out[nk]; dup {
			return nil, typeErr("key replacement %s collides with a key in the output map", nk)
		}
		if s, ok := v.(string); ok {
			if r, ok := vals[s]; ok {
				v = r
			}
		}
		out[nk] = v
	}
	return out, nil
}

func (e *evalCtx) repeat(arg any) (any, error) {
	m, ok := arg.(map[string]any)
	if !ok {
		return nil, typeErr("Arguments to \"repeat\" must be a map")
	}
	body, hasT := m["template"]
	fe, hasF := m["for_each"]
	if !hasT || !hasF {
		return nil, typeErr("\"repeat\" syntax should be {'for_each': {'<var>': ['<value>', ...]}, 'template': '<body>'}")
	}
	forEach, err := e.eval(fe)
	if err != nil {
		return nil, err
	}
	vars, ok := forEach.(map[string]any)
	if !ok {
		return nil, typeErr("The \"for_each\" argument to \"repeat\" must contain a map")
	}
	names := make([]string, 0, len(vars))
	lists := map[string][]any{}
	for k, v := range vars {
		l, ok := v.([]any)
		if !ok {
			return nil, typeErr("The values of the \"for_each\" argument to \"repeat\" must be lists")
		}
		names = append(names, k)
		lists[k] = l
	}
	sort.Strings(names)
	permutations := true
	if p, ok := m["permutations"]; ok {
		permutations = boolish(p)
	}
	var combos []map[string]any
	if permutations {
		combos = []map[string]any{{}}
		for _, n := range names {
			var next []map[string]any
			for _, c := range combos {
				for _, v := range lists[n] {
					cc := map[string]any{}
					for k, x := range c {
						cc[k] = x
					}
					cc[n] = v
					next = append(next, cc)
				}
			}
			combos = next
		}
	} else {
		n := -1
		for _, k := range names {
			if n >= 0 && len(lists[k]) != n {
				return nil, typeErr("For repeat, the length of for_each values should be equal if no permutations are used.")
			}
			n = len(lists[k])
		}
		for i := 0; i < n; i++ {
			c := map[string]any{}
			for _, k := range names {
				c[k] = lists[k][i]
			}
			combos = append(combos, c)
		}
	}
	out := []any{}
	for _, c := range combos {
		v, err := e.eval(substitute(deepCopy(body), c))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// substitute replaces the repeat variables in strings (keys and values).
func substitute(v any, vars map[string]any) any {
	switch x := v.(type) {
	case string:
		keys := make([]string, 0, len(vars))
		for k := range vars {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
		for _, k := range keys {
			if x == k {
				return vars[k]
			}
			s, _ := replacement(vars[k])
			x = strings.ReplaceAll(x, k, s)
		}
		return x
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			nk, _ := substitute(k, vars).(string)
			if nk == "" {
				nk = k
			}
			out[nk] = substitute(e, vars)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = substitute(e, vars)
		}
		return out
	}
	return v
}

// condition evaluates a condition: a boolean, the name of one of the
// template's conditions, or a condition expression.
func (e *evalCtx) condition(c any) (bool, error) {
	switch x := c.(type) {
	case bool:
		return x, nil
	case string:
		if v, ok := e.conds[x]; ok {
			return v, nil
		}
		def, ok := e.t.conditions[x]
		if !ok {
			return false, validationFailed("Invalid condition \"%s\"", x)
		}
		if e.conds == nil {
			e.conds = map[string]bool{}
		}
		e.conds[x] = false
		v, err := e.condExpr(def)
		if err != nil {
			return false, err
		}
		e.conds[x] = v
		return v, nil
	}
	return e.condExpr(c)
}

func (e *evalCtx) condExpr(c any) (bool, error) {
	if b, ok := c.(bool); ok {
		return b, nil
	}
	if s, ok := c.(string); ok {
		return e.condition(s)
	}
	name, arg, ok := e.fnCall(c, true)
	if !ok {
		return false, validationFailed("Invalid condition %s", pyStr(c))
	}
	switch name {
	case "equals":
		l, ok := arg.([]any)
		if !ok || len(l) != 2 {
			return false, validationFailed("Arguments to \"equals\" must be of the form: [value_1, value_2]")
		}
		a, err := e.condValue(l[0])
		if err != nil {
			return false, err
		}
		b, err := e.condValue(l[1])
		if err != nil {
			return false, err
		}
		return jsonStr(a) == jsonStr(b), nil
	case "not":
		v, err := e.condition(arg)
		return !v, err
	case "and", "or":
		l, ok := arg.([]any)
		if !ok || len(l) < 2 {
			return false, validationFailed("Arguments to \"%s\" must be of the form: [condition_1, condition_2, ...]", name)
		}
		for _, x := range l {
			v, err := e.condition(x)
			if err != nil {
				return false, err
			}
			if name == "and" && !v {
				return false, nil
			}
			if name == "or" && v {
				return true, nil
			}
		}
		return name == "and", nil
	case "contains":
		v, err := e.call("contains", arg)
		if err != nil {
			return false, err
		}
		return v == true, nil
	case "get_param":
		v, err := e.getParam(arg)
		if err != nil {
			return false, err
		}
		return boolish(v), nil
	}
	return false, validationFailed("The function \"%s\" is not supported in conditions", name)
}

// condValue resolves a value inside a condition (get_param only).
func (e *evalCtx) condValue(v any) (any, error) {
	if name, arg, ok := e.fnCall(v, true); ok {
		if name == "get_param" {
			return e.getParam(arg)
		}
		return e.condExpr(v)
	}
	return v, nil
}

// references returns the resources v refers to (get_resource, get_attr)
// through this template's functions.
func (e *evalCtx) references(v any, out map[string]bool) {
	if name, arg, ok := e.fnCall(v, false); ok {
		switch name {
		case "get_resource":
			if s, ok := arg.(string); ok {
				out[s] = true
				return
			}
		case "get_attr":
			if l, ok := arg.([]any); ok && len(l) > 0 {
				if s, ok := l[0].(string); ok {
					out[s] = true
				}
			}
		}
		e.references(arg, out)
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for _, e2 := range x {
			e.references(e2, out)
		}
	case []any:
		for _, e2 := range x {
			e.references(e2, out)
		}
	}
}

// checkReferences finds references to unknown resources, with the path
// Heat names in InvalidTemplateReference.
func (e *evalCtx) checkReferences(v any, path string) error {
	if name, arg, ok := e.fnCall(v, false); ok {
		var target string
		switch name {
		case "get_resource":
			target, _ = arg.(string)
		case "get_attr":
			if l, ok := arg.([]any); ok && len(l) > 0 {
				target, _ = l[0].(string)
			}
		}
		if target != "" {
			if _, ok := e.t.resources[target]; !ok {
				return heatErr(400, "InvalidTemplateReference", "The specified reference \"%s\" (in %s) is incorrect.", target, path)
			}
		}
		return e.checkReferences(arg, path)
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := e.checkReferences(x[k], path+"."+k); err != nil {
				return err
			}
		}
	case []any:
		for i, e2 := range x {
			if err := e.checkReferences(e2, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	}
	return nil
}
