//! Reports compiled to SQL (to come).
