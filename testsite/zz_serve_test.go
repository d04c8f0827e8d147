package testsite

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

func TestZZServe(t *testing.T) {
	h := NewHostile(HostileOptions{DripEvery: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	u, _ := ServeHostile(ctx, h)
	os.WriteFile("/tmp/hostile_url", []byte(u.Main), 0o644)
	fmt.Println(u.Main)
	<-ctx.Done()
}
