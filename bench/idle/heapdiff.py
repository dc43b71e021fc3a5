#!/usr/bin/env python3
"""heapdiff.py DIR N: live bytes per connection by type, from DIR/heap-before.tsv and DIR/heap-after.tsv (HeapWalk)."""
import sys

def load(p):
    d={}
    for l in open(p):
        if l.startswith('#'): continue
        k,n,b,ln,lb=l.rstrip('\n').split('\t'); d[k]=(int(n),int(b),int(ln),int(lb))
    return d
D=sys.argv[1]; N=int(sys.argv[2]) if len(sys.argv)>2 else 5000
a=load(D+'/heap-before.tsv'); b=load(D+'/heap-after.tsv')
rows=[]
for k in set(a)|set(b):
    x=a.get(k,(0,0,0,0)); y=b.get(k,(0,0,0,0))
    rows.append((k,(y[0]-x[0])/N,(y[1]-x[1])/N,(y[2]-x[2])/N,(y[3]-x[3])/N))
rows.sort(key=lambda r:-r[4])
print("type | objects/conn | live bytes/conn")
tl=0;td=0
for r in rows:
    tl+=r[4]; td+=r[2]
    if abs(r[4])>=8: print(f"{r[0][:100]} | {r[3]:.2f} | {r[4]:.0f}")
print(f"total live bytes/conn {tl:.0f}; all (incl. dead) {td:.0f}")
for l in open(D+'/heap-after.tsv'):
    if l.startswith('#'): print(l.strip())
