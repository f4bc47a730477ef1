package x

func f(c interface{ PostMessage() }) { c.PostMessage() }
