package redis

import (
	"context"
	"errors"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// transientReplies are the prefixes of error replies that a later try may
// not get: a server loading its data after a restart, busy with a script,
// or in a failover.
var transientReplies = []string{"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN", "READONLY"}

// transient reports whether a failed call is worth retrying: any error that
// is not an error reply from Redis (so a connection error: refused, reset,
// timed out, pool exhausted), and the error replies of a server that is
// restarting or failing over. Context errors are not.
func transient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var reply goredis.Error
	if errors.As(err, &reply) {
		msg := reply.Error()
		for _, p := range transientReplies {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	return true
}
