package b

func f(c interface{ GetUserInfoContext() }) { c.GetUserInfoContext() }
