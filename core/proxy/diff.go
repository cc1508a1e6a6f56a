package proxy

// Changes is what turns one RuleSet into another, each list sorted by name.
type Changes struct {
	Added   []ServicePort
	Removed []ServicePort
	Updated []Update
}

// Update is a Service port whose rule changed.
type Update struct {
	Old, New ServicePort
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool {
	return len(c.Added) == 0 && len(c.Removed) == 0 && len(c.Updated) == 0
}

// Diff compares two RuleSets by walking both sorted lists once.
func Diff(old, cur RuleSet) Changes {
	var c Changes
	i, j := 0, 0
	for i < len(old.Ports) || j < len(cur.Ports) {
		switch {
		case j == len(cur.Ports):
			c.Removed = append(c.Removed, old.Ports[i])
			i++
		case i == len(old.Ports):
			c.Added = append(c.Added, cur.Ports[j])
			j++
		default:
			o, n := &old.Ports[i], &cur.Ports[j]
			switch cmp := o.Name.Compare(n.Name); {
			case cmp < 0:
				c.Removed = append(c.Removed, *o)
				i++
			case cmp > 0:
				c.Added = append(c.Added, *n)
				j++
			default:
				if !o.Equal(n) {
					c.Updated = append(c.Updated, Update{Old: *o, New: *n})
				}
				i++
				j++
			}
		}
	}
	return c
}
