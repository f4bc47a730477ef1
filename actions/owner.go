package actions

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"
)

// processOwner names this process as the holder of leases: host, pid and
// a random part (a restarted process on the same host and pid is another
// owner), then role when it is not "".
func processOwner(role string) string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	owner := fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	if role != "" {
		owner += "-" + role
	}
	return owner
}

// positiveOr is v, or def when v is not above zero (an option left unset).
func positiveOr[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
