package entra

import (
	"crypto/rand"
	"fmt"
	"math/big"
)

// Character classes of temporary passwords. Entra ID wants three of upper,
// lower, digit and symbol; every password has all four. Look-alikes (I, l,
// O, 0, o, 1) are left out so that a person can read the password out, and
// the symbols are ones Entra allows that need no quoting in a chat message.
const (
	pwUpper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	pwLower   = "abcdefghijkmnpqrstuvwxyz"
	pwDigits  = "23456789"
	pwSymbols = "!#$%*+-=?@^_"
)

// passwordLength gives about 120 bits of entropy.
const passwordLength = 20

// newPassword returns a random temporary password from crypto/rand.
func newPassword() (string, error) {
	classes := []string{pwUpper, pwLower, pwDigits, pwSymbols}
	all := pwUpper + pwLower + pwDigits + pwSymbols
	b := make([]byte, 0, passwordLength)
	for _, c := range classes {
		ch, err := pick(c)
		if err != nil {
			return "", err
		}
		b = append(b, ch)
	}
	for len(b) < passwordLength {
		ch, err := pick(all)
		if err != nil {
			return "", err
		}
		b = append(b, ch)
	}
	// Fisher-Yates, so the guaranteed characters are not always in front.
	for i := len(b) - 1; i > 0; i-- {
		j, err := randN(i + 1)
		if err != nil {
			return "", err
		}
		b[i], b[j] = b[j], b[i]
	}
	return string(b), nil
}

func pick(set string) (byte, error) {
	i, err := randN(len(set))
	if err != nil {
		return 0, err
	}
	return set[i], nil
}

func randN(n int) (int, error) {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("random password: %w", err)
	}
	return int(v.Int64()), nil
}
