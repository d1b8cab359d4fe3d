// Package heat is the emulator's orchestration service (Heat v1, as Heat
// 19 "Antelope" answers): version discovery; stacks made from a HOT
// template given inline or by URL, with parameters (types, defaults,
// constraints), conditions and the intrinsic functions; the stack's
// resources made, updated and deleted in dependency order on the
// emulator's own services through env.Do with the caller's token, the
// stack moving CREATE_IN_PROGRESS -> CREATE_COMPLETE / CREATE_FAILED (and
// rollback), UPDATE_*, DELETE_*; outputs, resources, events, template,
// environment, files; actions; template validation; resource types and
// template versions; Heat's error shape {"code", "title", "explanation",
// "error": {"type", "message", "traceback"}}.
//
// A stack advances without a goroutine of its own: every step runs when
// the stack is created or changed, when a client reads it, and on a timer
// of the emulator's (env.After) while something is in progress.
package heat
