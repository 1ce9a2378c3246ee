//! Template and options template sets, read and checked.
//!
//! Why floe reads them itself rather than through netflow_parser: a
//! template is the contract every later data record is read by, and
//! netflow_parser 1.0.6 accepts templates that cannot be honoured
//! (`sourceIPv4Address` of 16 bytes, `protocolIdentifier` of 9, zero-length
//! fields, ids below 256, options templates with more scope fields than
//! fields) and then stores nonsense or fails on the data. Here each
//! template record is checked on its own (see [`crate::elements`]) and a
//! refused one costs only itself, with its reason.

use crate::elements::check_length;
use crate::events::TemplateFault;

/// One field of a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldSpec {
    /// Information element id (without the enterprise bit).
    pub ie: u16,
    /// Length in bytes; 65535 is variable length.
    pub len: u16,
    /// IPFIX private enterprise number, for enterprise-specific elements.
    pub enterprise: Option<u32>,
}

/// A template as announced: data or options, its scope fields first.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TemplateDef {
    /// Template id (256 and above).
    pub id: u16,
    /// An options template (its records describe the exporter, not flows).
    pub options: bool,
    /// How many of the fields are scope fields (options templates).
    pub scope_fields: u16,
    /// The fields, in record order.
    pub fields: Vec<FieldSpec>,
}

impl TemplateDef {
    /// The (element, length, enterprise-specific) list the record paths
    /// compile.
    pub(crate) fn specs(&self) -> Vec<(u16, u16, bool)> {
        self.fields
            .iter()
            .map(|f| (f.ie, f.len, f.enterprise.is_some()))
            .collect()
    }
}

/// What one template record of a set says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TemplateRecord {
    Define(TemplateDef),
    /// IPFIX withdrawal of one template, or of every data (id 2) or
    /// options (id 3) template.
    Withdraw {
        id: u16,
        options: bool,
    },
    Refused {
        id: u16,
        /// Offset of the record in the datagram.
        offset: usize,
        fault: TemplateFault,
    },
}

/// The layout of template records: v9's (also used by the IPFIX set ids 0
/// and 1 some exporters send) or IPFIX's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    V9,
    Ipfix,
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn u16(&mut self) -> Option<u16> {
        let v = u16::from_be_bytes([*self.b.get(self.at)?, *self.b.get(self.at + 1)?]);
        self.at += 2;
        Some(v)
    }

    fn u32(&mut self) -> Option<u32> {
        let v = u32::from_be_bytes(self.b.get(self.at..self.at + 4)?.try_into().ok()?);
        self.at += 4;
        Some(v)
    }

    fn rest_is_padding(&self) -> bool {
        let rest = &self.b[self.at.min(self.b.len())..];
        rest.len() < 4 || rest.iter().all(|x| *x == 0)
    }
}

/// Reads the template records of a template set (`options` false) or an
/// options template set (true), whose body starts at `offset` in the
/// datagram, calling `each` with each record. A record that runs past the
/// set ends the set.
pub(crate) fn read_set(
    layout: Layout,
    options: bool,
    body: &[u8],
    offset: usize,
    max_fields: usize,
    mut each: impl FnMut(TemplateRecord),
) {
    let mut r = Reader { b: body, at: 0 };
    while !r.rest_is_padding() {
        let start = r.at;
        let record_offset = offset + start;
        let refused = |id: u16, fault: TemplateFault| TemplateRecord::Refused {
            id,
            offset: record_offset,
            fault,
        };
        let (Some(id), Some(count)) = (r.u16(), r.u16()) else {
            return;
        };
        // The field list: how many scope fields, how many in all.
        let (scope, total) = match (layout, options) {
            (Layout::Ipfix, false) => (0, usize::from(count)),
            (Layout::Ipfix, true) => {
                if count == 0 {
                    // An options template withdrawal has no scope count.
                    each(TemplateRecord::Withdraw { id, options: true });
                    continue;
                }
                let Some(scope) = r.u16() else {
                    return each(refused(id, TemplateFault::PastSet));
                };
                (usize::from(scope), usize::from(count))
            }
            (Layout::V9, false) => (0, usize::from(count)),
            (Layout::V9, true) => {
                // Scope and option lengths in bytes, 4 per field.
                let scope_bytes = count;
                let Some(option_bytes) = r.u16() else {
                    return each(refused(id, TemplateFault::PastSet));
                };
                if scope_bytes % 4 != 0 || option_bytes % 4 != 0 {
                    // The field list cannot be delimited: nothing after
                    // it in this set can be read either.
                    return each(refused(
                        id,
                        TemplateFault::OptionsLengths {
                            scope_bytes,
                            option_bytes,
                        },
                    ));
                }
                let scope = usize::from(scope_bytes / 4);
                (scope, scope + usize::from(option_bytes / 4))
            }
        };
        if layout == Layout::Ipfix && !options && count == 0 {
            each(TemplateRecord::Withdraw { id, options: false });
            continue;
        }
        let mut fields = Vec::with_capacity(total.min(max_fields));
        for _ in 0..total {
            let (Some(raw), Some(len)) = (r.u16(), r.u16()) else {
                return each(refused(id, TemplateFault::PastSet));
            };
            let enterprise = if layout == Layout::Ipfix && raw & 0x8000 != 0 {
                match r.u32() {
                    Some(pen) => Some(pen),
                    None => return each(refused(id, TemplateFault::PastSet)),
                }
            } else {
                None
            };
            let ie = if layout == Layout::Ipfix {
                raw & 0x7FFF
            } else {
                raw
            };
            if fields.len() < max_fields {
                fields.push(FieldSpec {
                    ie,
                    len,
                    enterprise,
                });
            }
        }
        let def = TemplateDef {
            id,
            options,
            scope_fields: scope as u16,
            fields,
        };
        match fault(&def, total, layout, max_fields) {
            Some(f) => each(refused(id, f)),
            None => each(TemplateRecord::Define(def)),
        }
    }
}

/// Why a template (with `total` fields, of which `def` holds at most
/// `max_fields`) cannot be honoured, if it cannot: the rules for templates
/// announced by exporters and for those restored from the template file
/// alike.
pub(crate) fn fault(
    def: &TemplateDef,
    total: usize,
    layout: Layout,
    max_fields: usize,
) -> Option<TemplateFault> {
    let scope = usize::from(def.scope_fields);
    if def.id < 256 {
        return Some(TemplateFault::IdBelow256);
    }
    if total == 0 || def.fields.iter().all(|f| f.len == 0) {
        return Some(TemplateFault::NoFields);
    }
    if total > max_fields {
        return Some(TemplateFault::TooManyFields {
            fields: total,
            max: max_fields,
        });
    }
    if def.options && layout == Layout::Ipfix && (scope == 0 || scope > total) {
        return Some(TemplateFault::Scope {
            scope,
            fields: total,
        });
    }
    def.fields.iter().enumerate().find_map(|(i, f)| {
        // Exporters send zero-length fields (the corpus has a v9 capture
        // from logstash's tests and an IPFIX one from telegraf issue
        // 14370, whose flows tshark reads): such a field holds no value
        // and is stepped over. The scope fields of a v9 options template
        // are scope types (1 System, 2 Interface, 3 Line Card, 4 Cache, 5
        // Template; RFC 3954 section 6.1) of any length, not elements.
        let v9_scope = layout == Layout::V9 && def.options && i < scope;
        if f.len == 0 || v9_scope {
            return None;
        }
        check_length(f.ie, f.len, f.enterprise.is_some())
            .err()
            .map(|fits| TemplateFault::LengthDoesNotFit {
                ie: f.ie,
                len: f.len,
                fits,
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(layout: Layout, options: bool, body: &[u8]) -> Vec<TemplateRecord> {
        let mut v = Vec::new();
        read_set(layout, options, body, 100, 256, |r| v.push(r));
        v
    }

    fn record(id: u16, fields: &[(u16, u16)]) -> Vec<u8> {
        let mut t = id.to_be_bytes().to_vec();
        t.extend_from_slice(&(fields.len() as u16).to_be_bytes());
        for (ie, len) in fields {
            t.extend_from_slice(&ie.to_be_bytes());
            t.extend_from_slice(&len.to_be_bytes());
        }
        t
    }

    #[test]
    fn a_bad_record_costs_only_itself() {
        let mut body = record(256, &[(8, 4), (12, 4)]);
        body.extend(record(257, &[(8, 16)]));
        body.extend(record(258, &[(4, 9)]));
        body.extend(record(12, &[(8, 4)]));
        body.extend(record(259, &[(8, 4), (94, 0)]));
        body.extend(record(260, &[(1, 4), (94, 65535)]));
        body.extend([0, 0]);
        let got = read(Layout::Ipfix, false, &body);
        assert_eq!(got.len(), 6, "{got:?}");
        assert!(matches!(&got[0], TemplateRecord::Define(t) if t.id == 256 && t.fields.len() == 2));
        assert_eq!(
            got[1],
            TemplateRecord::Refused {
                id: 257,
                offset: 112,
                fault: TemplateFault::LengthDoesNotFit {
                    ie: 8,
                    len: 16,
                    fits: "4 bytes"
                }
            }
        );
        assert!(matches!(
            &got[2],
            TemplateRecord::Refused {
                fault: TemplateFault::LengthDoesNotFit { ie: 4, len: 9, .. },
                ..
            }
        ));
        assert!(matches!(
            &got[3],
            TemplateRecord::Refused {
                id: 12,
                fault: TemplateFault::IdBelow256,
                ..
            }
        ));
        // A zero-length field holds no value and is accepted.
        assert!(matches!(&got[4], TemplateRecord::Define(t) if t.id == 259));
        assert!(matches!(&got[5], TemplateRecord::Define(t) if t.id == 260));
        // Only zero-length fields: no record can hold anything.
        let got = read(Layout::V9, false, &record(259, &[(8, 0), (94, 0)]));
        assert!(matches!(
            &got[0],
            TemplateRecord::Refused {
                fault: TemplateFault::NoFields,
                ..
            }
        ));
    }

    #[test]
    fn ipfix_options_scope_and_withdrawals() {
        // Options template: 2 fields, scope count 3.
        let mut body = vec![1, 4, 0, 2, 0, 3, 0, 149, 0, 4, 0, 34, 0, 4];
        // Withdrawal of template 300, and of all options templates.
        body.extend([1, 44, 0, 0, 0, 3, 0, 0]);
        let got = read(Layout::Ipfix, true, &body);
        assert!(matches!(
            got[0],
            TemplateRecord::Refused {
                id: 260,
                fault: TemplateFault::Scope {
                    scope: 3,
                    fields: 2
                },
                ..
            }
        ));
        assert_eq!(
            got[1..],
            [
                TemplateRecord::Withdraw {
                    id: 300,
                    options: true
                },
                TemplateRecord::Withdraw {
                    id: 3,
                    options: true
                }
            ]
        );
    }

    #[test]
    fn enterprise_fields_and_records_past_the_set() {
        // IE 0x8001 with PEN 9, variable length; then a cut record.
        let body = [
            1, 0, 0, 2, 0x80, 1, 0xff, 0xff, 0, 0, 0, 9, 0, 8, 0, 4, 1, 1, 0, 3, 0, 8,
        ];
        let got = read(Layout::Ipfix, false, &body);
        match &got[0] {
            TemplateRecord::Define(t) => assert_eq!(
                t.fields,
                [
                    FieldSpec {
                        ie: 1,
                        len: 65535,
                        enterprise: Some(9)
                    },
                    FieldSpec {
                        ie: 8,
                        len: 4,
                        enterprise: None
                    }
                ]
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            got[1],
            TemplateRecord::Refused {
                id: 257,
                fault: TemplateFault::PastSet,
                ..
            }
        ));
    }
}
