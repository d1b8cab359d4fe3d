// Command bare is the baseline of bench/emulator: a bare net/http server
// that prints a ready line as the emulator does and answers every GET with
// the body it was given, so the emulator's figures are read against what
// net/http alone costs on the same machine in the same run.
package main
