package auth

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestGenerateToken(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		tok, err := GenerateToken()
		if err != nil {
			t.Fatal(err)
		}
		if !tokenRE.MatchString(tok) {
			t.Fatalf("token %q does not match the bootstrap token format", tok)
		}
		if seen[tok] {
			t.Fatalf("token %q generated twice", tok)
		}
		seen[tok] = true
	}
}

func TestParseToken(t *testing.T) {
	tests := []struct {
		in     string
		id     string
		wantOK bool
	}{
		{"abcdef.0123456789abcdef", "abcdef", true},
		{"ABCDEF.0123456789abcdef", "", false},
		{"abcde.0123456789abcdef", "", false},
		{"abcdef.0123456789abcde", "", false},
		{"abcdef0123456789abcdef", "", false},
		{"abcdef.0123456789abcdef.", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			id, _, err := ParseToken(tt.in)
			if (err == nil) != tt.wantOK || id != tt.id {
				t.Fatalf("ParseToken(%q) = %q, %v", tt.in, id, err)
			}
			if err != nil && strings.Contains(err.Error(), "0123456789") {
				t.Fatalf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestTokenStore(t *testing.T) {
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	s := NewTokenStore(filepath.Join(t.TempDir(), "data"))
	s.Now = func() time.Time { return now }

	short, err := s.Create(time.Hour, "for node-a")
	if err != nil {
		t.Fatal(err)
	}
	forever, err := s.Add("abcdef.0123456789abcdef", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := fileMode(t, s.Path); got != 0o600 {
		t.Errorf("token file mode = %o, want 600", got)
	}
	list, err := s.List()
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %v, %v", list, err)
	}

	tests := []struct {
		name  string
		token string
		at    time.Time
		ok    bool
	}{
		{"valid", short.String(), now, true},
		{"valid without expiry", forever.String(), now.Add(1000 * time.Hour), true},
		{"expired", short.String(), now.Add(time.Hour), false},
		{"wrong secret", short.ID + ".0000000000000000", now, false},
		{"unknown id", "zzzzzz.0123456789abcdef", now, false},
		{"malformed", "not-a-token", now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Now = func() time.Time { return tt.at }
			got, ok, err := s.Validate(tt.token)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.ok {
				t.Fatalf("Validate = %v, want %v", ok, tt.ok)
			}
			if ok && got.String() != tt.token {
				t.Fatalf("Validate returned %v", got)
			}
		})
	}
	s.Now = func() time.Time { return now }

	if err := s.Delete(short.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Validate(short.String()); ok {
		t.Fatal("deleted token still valid")
	}
	if err := s.Delete(short.ID); err == nil {
		t.Fatal("deleting a missing token succeeded")
	}
	if _, err := s.Add("bad", 0, ""); err == nil {
		t.Fatal("Add accepted a malformed token")
	}
}

func TestTokenStoreConcurrentCreate(t *testing.T) {
	s := NewTokenStore(t.TempDir())
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Create(time.Hour, "x"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	list, err := s.List()
	if err != nil || len(list) != 8 {
		t.Fatalf("after 8 concurrent creates: %d tokens, %v", len(list), err)
	}
}

func TestTokenFileErrors(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"bad token", "# c\n\nnope -\n", ":3:"},
		{"bad expiry", "abcdef.0123456789abcdef tomorrow\n", "expiry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := NewTokenStore(dir)
			if err := os.WriteFile(s.Path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := s.List()
			if err == nil || !strings.Contains(err.Error(), s.Path) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to name %s and %q", err, s.Path, tt.want)
			}
		})
	}
}

func TestLoadStaticTokens(t *testing.T) {
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    map[string]User
		wantErr string
	}{
		{"kube-apiserver format", "# comment\nt1,alice,1\nt2,admin,2,\"system:masters,ops\"\n\n", 0o600,
			map[string]User{"t1": {Name: "alice"}, "t2": {Name: "admin", Groups: []string{"system:masters", "ops"}}}, ""},
		{"too few fields", "t1,alice\n", 0o600, nil, ":1: want token,user,uid"},
		{"empty user", "t1,,1\n", 0o600, nil, ":1: empty token or user"},
		{"duplicate token", "t1,a,1\nt1,b,2\n", 0o600, nil, ":2: duplicate token"},
		{"readable by others", "t1,a,1\n", 0o644, nil, "chmod 600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tokens.csv")
			if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			got, err := LoadStaticTokens(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("err = %v, want it to name the file and contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
