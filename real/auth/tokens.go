package auth

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/csv"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Bootstrap tokens have Kubernetes' format: "<id>.<secret>", a 6-character
// public id and a 16-character secret, both of [a-z0-9]. Kubernetes keeps
// them as Secrets in kube-system; drydock keeps them in a file in the server's
// data directory (one token a line), which `drydock token create` appends to.
const (
	tokenIDLen     = 6
	tokenSecretLen = 16
	tokenChars     = "abcdefghijklmnopqrstuvwxyz0123456789"
	// DefaultTokenTTL is kubeadm's default bootstrap token lifetime.
	DefaultTokenTTL = 24 * time.Hour
	// TokensFile is the bootstrap token file's name in the data directory.
	TokensFile = "bootstrap-tokens"
)

var tokenRE = regexp.MustCompile(`^([a-z0-9]{6})\.([a-z0-9]{16})$`)

// BootstrapToken is one stored bootstrap token.
type BootstrapToken struct {
	ID     string
	Secret string
	// Expires is zero for a token that never expires.
	Expires     time.Time
	Description string
}

// String is the token as nodes pass it: "<id>.<secret>".
func (t BootstrapToken) String() string { return t.ID + "." + t.Secret }

// ParseToken splits a bootstrap token "<id>.<secret>" and checks its format.
func ParseToken(s string) (id, secret string, err error) {
	m := tokenRE.FindStringSubmatch(s)
	if m == nil {
		return "", "", fmt.Errorf("bootstrap token %q does not match the format [a-z0-9]{6}.[a-z0-9]{16}", redact(s))
	}
	return m[1], m[2], nil
}

// redact keeps the public part of a token for error messages.
func redact(s string) string {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return s[:i] + ".<redacted>"
	}
	if len(s) > tokenIDLen {
		return s[:tokenIDLen] + "<redacted>"
	}
	return s
}

// GenerateToken returns a new random bootstrap token ("<id>.<secret>", drawn
// uniformly from [a-z0-9] with crypto/rand).
func GenerateToken() (string, error) {
	id, err := randomString(tokenIDLen)
	if err != nil {
		return "", err
	}
	secret, err := randomString(tokenSecretLen)
	if err != nil {
		return "", err
	}
	return id + "." + secret, nil
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	max := big.NewInt(int64(len(tokenChars)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b[i] = tokenChars[v.Int64()]
	}
	return string(b), nil
}

// TokenStore is the bootstrap token file. Lookups read the file every time
// (bootstrap tokens are used only to join, rarely), so tokens created by
// another process (`drydock token create` beside a running server) are seen
// at once. Writes hold an exclusive flock on the file.
type TokenStore struct {
	Path string
	// Now is the clock for expiry (default time.Now).
	Now func() time.Time
}

// NewTokenStore is the token store in dataDir (file TokensFile).
func NewTokenStore(dataDir string) *TokenStore {
	return &TokenStore{Path: filepath.Join(dataDir, TokensFile)}
}

func (s *TokenStore) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Create generates a token valid for ttl (0: never expires), stores it and
// returns it.
func (s *TokenStore) Create(ttl time.Duration, description string) (BootstrapToken, error) {
	tok, err := GenerateToken()
	if err != nil {
		return BootstrapToken{}, err
	}
	t, err := s.Add(tok, ttl, description)
	return t, err
}

// Add stores a given token (format checked) valid for ttl (0: never
// expires). Adding an id that exists replaces it.
func (s *TokenStore) Add(token string, ttl time.Duration, description string) (BootstrapToken, error) {
	id, secret, err := ParseToken(token)
	if err != nil {
		return BootstrapToken{}, err
	}
	if strings.ContainsAny(description, "\n\r") {
		return BootstrapToken{}, errors.New("token description must be one line")
	}
	t := BootstrapToken{ID: id, Secret: secret, Description: description}
	if ttl > 0 {
		t.Expires = s.now().Add(ttl).UTC().Truncate(time.Second)
	}
	err = s.update(func(tokens []BootstrapToken) []BootstrapToken {
		out := tokens[:0]
		for _, o := range tokens {
			if o.ID != id {
				out = append(out, o)
			}
		}
		return append(out, t)
	})
	return t, err
}

// Delete removes the token with the given id (or full token).
func (s *TokenStore) Delete(idOrToken string) error {
	id := idOrToken
	if i := strings.IndexByte(id, '.'); i >= 0 {
		id = id[:i]
	}
	found := false
	err := s.update(func(tokens []BootstrapToken) []BootstrapToken {
		out := tokens[:0]
		for _, o := range tokens {
			if o.ID == id {
				found = true
				continue
			}
			out = append(out, o)
		}
		return out
	})
	if err == nil && !found {
		return fmt.Errorf("bootstrap token %q not found in %s", id, s.Path)
	}
	return err
}

// List returns the stored tokens, expired ones included, sorted by id.
func (s *TokenStore) List() ([]BootstrapToken, error) {
	data, err := os.ReadFile(s.Path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseTokenFile(s.Path, data)
}

// Validate reports whether token is a stored, unexpired bootstrap token and
// returns it. The secret is compared in constant time.
func (s *TokenStore) Validate(token string) (BootstrapToken, bool, error) {
	id, secret, err := ParseToken(token)
	if err != nil {
		return BootstrapToken{}, false, nil
	}
	tokens, err := s.List()
	if err != nil {
		return BootstrapToken{}, false, err
	}
	for _, t := range tokens {
		if t.ID != id {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(t.Secret), []byte(secret)) != 1 {
			return BootstrapToken{}, false, nil
		}
		if !t.Expires.IsZero() && !s.now().Before(t.Expires) {
			return BootstrapToken{}, false, nil
		}
		return t, true, nil
	}
	return BootstrapToken{}, false, nil
}

// File format, one token a line, fields separated by single spaces:
//
//	<id>.<secret> <expires RFC 3339 or "-"> [description...]
//
// Lines starting with '#' and blank lines are ignored.
func parseTokenFile(path string, data []byte) ([]BootstrapToken, error) {
	var out []BootstrapToken
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.SplitN(line, " ", 3)
		id, secret, err := ParseToken(fields[0])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		t := BootstrapToken{ID: id, Secret: secret}
		if len(fields) > 1 && fields[1] != "-" {
			t.Expires, err = time.Parse(time.RFC3339, fields[1])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: expiry: %w", path, n, err)
			}
		}
		if len(fields) > 2 {
			t.Description = fields[2]
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func formatTokenFile(tokens []BootstrapToken) []byte {
	var b bytes.Buffer
	b.WriteString("# drydock bootstrap tokens: <id>.<secret> <expires|-> [description]\n")
	for _, t := range tokens {
		exp := "-"
		if !t.Expires.IsZero() {
			exp = t.Expires.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(&b, "%s %s", t.String(), exp)
		if t.Description != "" {
			b.WriteString(" " + t.Description)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// update rewrites the token file under an exclusive lock (flock on
// Path+".lock"), atomically (temporary file and rename), mode 0600.
func (s *TokenStore) update(f func([]BootstrapToken) []BootstrapToken) error {
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o700); err != nil {
		return err
	}
	lock, err := os.OpenFile(s.Path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", s.Path, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	tokens, err := s.List()
	if err != nil {
		return err
	}
	tokens = f(tokens)
	sort.Slice(tokens, func(i, j int) bool { return tokens[i].ID < tokens[j].ID })
	return writeFileAtomic(s.Path, formatTokenFile(tokens), 0o600)
}

// LoadStaticTokens reads a static token file in kube-apiserver's
// --token-auth-file format: CSV lines `token,user,uid[,"group1,group2,..."]`
// (uid is ignored by drydock); blank lines and lines starting with '#' are
// skipped. The result is AuthenticatorConfig.StaticTokens. The file holds
// secrets: it must not be readable by group or others.
func LoadStaticTokens(path string) (map[string]User, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: mode %o lets others read the tokens; chmod 600 it", path, st.Mode().Perm())
	}
	out := map[string]User{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rec, err := csv.NewReader(strings.NewReader(line)).Read()
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		if len(rec) < 3 {
			return nil, fmt.Errorf("%s:%d: want token,user,uid[,\"groups\"], got %d fields", path, n, len(rec))
		}
		token, name := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if token == "" || name == "" {
			return nil, fmt.Errorf("%s:%d: empty token or user", path, n)
		}
		if _, dup := out[token]; dup {
			return nil, fmt.Errorf("%s:%d: duplicate token for user %q", path, n, name)
		}
		u := User{Name: name}
		if len(rec) > 3 {
			for _, g := range strings.Split(rec[3], ",") {
				if g = strings.TrimSpace(g); g != "" {
					u.Groups = append(u.Groups, g)
				}
			}
		}
		out[token] = u
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
