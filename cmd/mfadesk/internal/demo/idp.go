package demo

import (
	"log/slog"

	"github.com/mfadesk/mfadesk/bot/stepup/fakeidp"
)

// StartIdP starts the demo's sign-in provider for approver step-up
// (bot/stepup/fakeidp, on 127.0.0.1): its sign-in page lets whoever signs
// in pick a person of People and sign in with MFA or without. It returns
// the provider and the variables that point mfadesk at it, with a client
// secret made for this run.
func (d *Demo) StartIdP(log *slog.Logger) (*fakeidp.Provider, map[string]string, error) {
	users := make([]fakeidp.User, 0, len(People))
	for _, p := range People {
		users = append(users, fakeidp.User{Subject: p.DirectoryID, Email: p.Email, EmailVerified: true, Name: p.Name})
	}
	const clientID = "mfadesk-demo"
	secret := randomHex(24)
	idp, err := fakeidp.Start(fakeidp.Options{Users: users, ClientID: clientID, ClientSecret: secret,
		RedirectURIs: []string{d.base + "/stepup/callback"}, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	return idp, map[string]string{
		"MFADESK_PUBLIC_URL":         d.base,
		"MFADESK_OIDC_ISSUER":        idp.Issuer(),
		"MFADESK_OIDC_CLIENT_ID":     clientID,
		"MFADESK_OIDC_CLIENT_SECRET": secret,
	}, nil
}
