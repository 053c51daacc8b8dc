"""The HTML report's inline stylesheet and script (no external asset: the file works offline).

The script only adds: sorting by a click on a column head, a text filter over every table marked
`filterable` (showing the first 200 matching rows, and a button for all), the severity / kind /
change filters of the incident table, and opening every group before printing. Without it every
row is shown, in the order the report wrote them.
"""

from __future__ import annotations

CSS = """
:root{--block:#c53030;--warn:#b7791f;--ok:#2f855a;--line:#e2e8f0}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a202c;margin:24px auto;max-width:1150px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #cbd5e0;padding-bottom:3px}h3{font-size:15px;margin:16px 0 4px}
.meta{color:#4a5568}.story{font-size:15px;background:#f7fafc;border-left:4px solid #2b6cb0;padding:8px 14px;margin:12px 0}.story p{margin:4px 0}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:14px 0}
.card{border:1px solid #cbd5e0;border-radius:6px;padding:8px 14px;min-width:120px}.card b{display:block;font-size:22px}
.card.block{border-color:var(--block)}.card.block b{color:var(--block)}.card.warn{border-color:var(--warn)}.card.warn b{color:var(--warn)}.card.ok b{color:var(--ok)}
.sev{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;font-weight:600;color:#fff}
.sev.block,tr.block td.sv{background:var(--block)}.sev.warn,tr.warn td.sv{background:var(--warn)}
td.sv{color:#fff;font-weight:600;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:18px}figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:8px;flex:1 1 calc(50% - 36px);min-width:0}
svg.chart{max-width:100%;height:auto}
figcaption{font-weight:600;margin-bottom:4px}figcaption small{font-weight:400;color:#4a5568}
table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0}th,td{border:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top}
th{background:#edf2f7}td.n{text-align:right}
table.sortable th{cursor:pointer;user-select:none}th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
tr.block>td:first-child{border-left:4px solid var(--block)}tr.warn>td:first-child{border-left:4px solid var(--warn)}
td.chg{font-size:12px;font-weight:600}td.chg.new{color:#2b6cb0}
tr.fixed td{color:#4a5568;text-decoration:line-through}
.chg{font-size:12px;font-weight:600}.chg.new{color:#2b6cb0}
details summary{cursor:pointer}ul.f{margin:4px 0 2px;padding-left:18px}ul.f li{margin:2px 0}
ul.f li.block::marker{color:var(--block)}ul.f li.warn::marker{color:var(--warn)}
.controls[hidden]{display:none}.controls{display:flex;gap:8px;flex-wrap:wrap;align-items:center;margin:6px 0}.controls input{min-width:260px}
button.kind{font:inherit;font-family:monospace;background:none;border:0;padding:0;color:#2b6cb0;cursor:pointer;text-decoration:underline}
dl.legend{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;font-size:13px}dl.legend dt{font-family:monospace}
@media print{
 @page{margin:14mm}
 body{font-size:10pt;margin:0;max-width:none}
 h2{break-after:avoid}figure,tr{break-inside:avoid}
 .charts{display:block}figure{margin-bottom:8px}
 .controls{display:none}
 details::details-content{content-visibility:visible;display:block}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""

SCRIPT = """
(function(){
'use strict';
var PAGE=200;
function cell(r,i){var c=r.cells[i];return c?(c.dataset.v!==undefined?c.dataset.v:c.textContent.trim()):'';}
function sortable(t){
 var heads=t.tHead?t.tHead.rows[0].cells:[];
 Array.prototype.forEach.call(heads,function(th,i){
  th.tabIndex=0;
  function go(){
   var asc=th.getAttribute('aria-sort')!=='ascending',num=th.dataset.type==='num',b=t.tBodies[0];
   Array.prototype.forEach.call(heads,function(h){h.removeAttribute('aria-sort');});
   th.setAttribute('aria-sort',asc?'ascending':'descending');
   var rows=Array.prototype.slice.call(b.rows);
   rows.sort(function(x,y){var a=cell(x,i),c=cell(y,i),d=num?(parseFloat(a)||0)-(parseFloat(c)||0):a.localeCompare(c,undefined,{numeric:true});return asc?d:-d;});
   var f=document.createDocumentFragment();rows.forEach(function(r){f.appendChild(r);});b.appendChild(f);
   if(t.refilter)t.refilter();
  }
  th.addEventListener('click',go);th.addEventListener('keydown',function(e){if(e.key==='Enter')go();});
 });
}
function filterable(t){
 var box=document.querySelector('.controls[data-for="'+t.id+'"]');
 if(!box){box=document.createElement('div');box.className='controls';box.dataset.for=t.id;box.innerHTML='<input type="search" placeholder="Filter rows"><span class="shown"></span>';t.parentNode.insertBefore(box,t);}
 box.hidden=false;
 var body=t.tBodies[0],total=body.rows.length;
 var q=box.querySelector('input'),sels=box.querySelectorAll('select'),shown=box.querySelector('.shown'),cols={};
 Array.prototype.forEach.call(t.tHead.rows[0].cells,function(th,i){if(th.dataset.col)cols[th.dataset.col]=i;});
 Array.prototype.forEach.call(body.rows,function(r){r.text=r.textContent.toLowerCase();r.vals={};Object.keys(cols).forEach(function(name){
  var c=r.cells[cols[name]],s=c&&c.querySelector('summary');r.vals[name]=c?(s||c).textContent.trim().split(/,\\s*/):[];});});
 function apply(){
  var words=q.value.toLowerCase().split(/\\s+/).filter(Boolean),n=0;
  Array.prototype.forEach.call(body.rows,function(r){
   var ok=words.every(function(w){return r.text.indexOf(w)>=0;});
   Array.prototype.forEach.call(sels,function(s){if(ok&&s.value){ok=(r.vals[s.name]||[]).indexOf(s.value)>=0;}});
   if(ok)n++;r.hidden=!ok||(!all&&n>PAGE);
  });
  shown.textContent=n+' of '+total+' match'+(n>PAGE&&!all?'; the first '+PAGE+' shown':'');
  more.hidden=all||n<=PAGE;more.textContent='Show all '+n;
 }
 var all=false,more=document.createElement('button');more.type='button';more.className='more';
 more.addEventListener('click',function(){all=true;apply();});box.appendChild(more);
 q.addEventListener('input',apply);Array.prototype.forEach.call(sels,function(s){s.addEventListener('change',apply);});
 t.refilter=apply;
 t.filter=function(name,value){var s=box.querySelector('select[name="'+name+'"]');if(s){s.value=value;apply();}};
 apply();
}
document.querySelectorAll('table.sortable').forEach(sortable);
document.querySelectorAll('table.filterable').forEach(filterable);
document.querySelectorAll('button.kind').forEach(function(b){b.addEventListener('click',function(){
 var t=document.getElementById('incidents');if(t&&t.filter){t.filter('kinds',b.dataset.kind);t.scrollIntoView();}
});});
window.addEventListener('beforeprint',function(){document.querySelectorAll('details').forEach(function(d){d.open=true;});});
})();
"""
