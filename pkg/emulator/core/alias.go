package core

// Alias returns a Service that only adds a second catalog entry, under
// another name and type, for the endpoint of the service whose Spec is of:
// devstack registers Cinder as both block-storage and volumev3, Manila as
// shared-file-system and sharev2, and clients look up either. Register it
// right after the real service: it has the same Prefix, and the Cloud
// dispatches a prefix to the first service registered with it, so the
// alias serves nothing itself. Env.Do with the alias's type reaches the
// real service.
func Alias(of Spec, name, typ string) Service {
	s := of
	s.Name, s.Type, s.Hidden = name, typ, false
	return alias{spec: s}
}

type alias struct{ spec Spec }

func (a alias) Spec() Spec            { return a.spec }
func (a alias) Routes(*Router)        {}
func (a alias) State() Persistent     { return nil }
func (a alias) Resources() []Resource { return nil }
