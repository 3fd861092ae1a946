//! Shared by the corpus runner and the property tests.

use weir_filter::SessionFields;
use weir_protocols::registry::Protocol;
use weir_protocols::FieldValue;

/// A session as a list of field values: the tests' [`SessionFields`].
#[derive(Clone, Debug)]
pub struct MapSession {
    pub protocol: Protocol,
    pub fields: Vec<(String, SessionValue)>,
}

#[derive(Clone, Debug)]
pub enum SessionValue {
    Int(u64),
    Str(String),
}

impl SessionFields for MapSession {
    fn protocol(&self) -> Protocol {
        self.protocol
    }
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| match v {
            SessionValue::Int(i) => FieldValue::Int(*i),
            SessionValue::Str(s) => FieldValue::Str(s),
        })
    }
}
