fm <- function(x1,n1,x2,n2,delta){
  s1<-x1/n1; s2<-x2/n2; th<-n2/n1; a<-1+th
  b<- -(1+th+s1+th*s2+delta*(th+2)); c<-delta^2+delta*(2*s1+th+1)+s1+th*s2; d<- -s1*delta*(1+delta)
  v<-b^3/(27*a^3)-b*c/(6*a^2)+d/(2*a); u<-sign(v)*sqrt(pmax(b^2/(9*a^2)-c/(3*a),0))
  w<-(pi+acos(pmin(pmax(ifelse(u==0,0,v/ifelse(u==0,1,u)^3),-1),1)))/3
  p1<-pmin(pmax(2*u*cos(w)-b/(3*a),0),1); p2<-pmin(pmax(p1-delta,0),1)
  vv<-p1*(1-p1)/n1+p2*(1-p2)/n2; g<-s1-s2-delta
  ifelse(vv>0,g/sqrt(vv),ifelse(g>0,Inf,ifelse(g<0,-Inf,0)))
}
tailp <- function(x1,n1,x2,n2,delta,upper){
  gam<-1e-4; lo2<-if(x2==0)0 else qbeta(gam/2,x2,n2-x2+1); hi2<-if(x2==n2)1 else qbeta(1-gam/2,x2+1,n2-x2)
  lo<-max(0,-delta,lo2); hi<-min(1,1-delta,hi2)
  k<-expand.grid(a=0:n1,b=0:n2); z<-fm(k$a,n1,k$b,n2,delta); zo<-fm(x1,n1,x2,n2,delta)
  m<- if(upper) (z>zo+1e-10)+0.5*(abs(z-zo)<=1e-10) else (z<zo-1e-10)+0.5*(abs(z-zo)<=1e-10)
  f<-function(p2) sum(m*dbinom(k$a,n1,min(max(p2+delta,0),1))*dbinom(k$b,n2,p2))
  gr<-seq(lo,hi,length.out=400); vals<-sapply(gr,f); i<-which.max(vals)
  o<-optimize(f,c(gr[max(1,i-1)],gr[min(400,i+1)]),maximum=TRUE)
  min(1,max(vals[i],o$objective)+gam)
}
for (t in list(c(1,40,0,300),c(7,34,1,34),c(3,20,1,300),c(2,10,1,10),c(0,30,4,25))) {
  p<-min(1,2*min(tailp(t[1],t[2],t[3],t[4],0,TRUE),tailp(t[1],t[2],t[3],t[4],0,FALSE)))
  cat(sprintf("(%d, %d, %d, %d, %.6f),\n",t[1],t[2],t[3],t[4],p))
}
