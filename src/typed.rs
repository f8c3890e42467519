//! Objects made for one sample type (f32 or f64), stored side by side in non-generic containers
//! (the engine's stream slots, job results and chunk cache), and the typed access to them.

use crate::cache::CachedSample;

/// A kind of object that exists for each sample type (`Of<f32>`, `Of<f64>`).
pub trait Family {
    /// The object for sample type `T`.
    type Of<T: CachedSample>;
}

/// One object of a family, made for f32 or for f64.
pub enum PerSample<F: Family> {
    /// The f32 object.
    F32(F::Of<f32>),
    /// The f64 object.
    F64(F::Of<f64>),
}

impl<F: Family> PerSample<F> {
    /// Wraps the object for sample type `T`.
    pub fn new<T: TypedSample>(x: F::Of<T>) -> Self {
        T::wrap(x)
    }

    /// The object, if it was made for `T`.
    pub fn get<T: TypedSample>(&self) -> Option<&F::Of<T>> {
        T::pick(self)
    }

    /// Mutable access to the object, if it was made for `T`.
    pub fn get_mut<T: TypedSample>(&mut self) -> Option<&mut F::Of<T>> {
        T::pick_mut(self)
    }
}

/// f32 or f64, with the typed access to a [`PerSample`].
pub trait TypedSample: CachedSample {
    /// Wraps an object made for this type.
    fn wrap<F: Family>(x: F::Of<Self>) -> PerSample<F>;
    /// The object, if `objects` holds this type's.
    fn pick<F: Family>(objects: &PerSample<F>) -> Option<&F::Of<Self>>;
    /// Mutable form of [`pick`](Self::pick).
    fn pick_mut<F: Family>(objects: &mut PerSample<F>) -> Option<&mut F::Of<Self>>;
}

macro_rules! typed_sample {
    ($t:ty, $variant:ident) => {
        impl TypedSample for $t {
            fn wrap<F: Family>(x: F::Of<Self>) -> PerSample<F> {
                PerSample::$variant(x)
            }
            fn pick<F: Family>(objects: &PerSample<F>) -> Option<&F::Of<Self>> {
                match objects {
                    PerSample::$variant(x) => Some(x),
                    _ => None,
                }
            }
            fn pick_mut<F: Family>(objects: &mut PerSample<F>) -> Option<&mut F::Of<Self>> {
                match objects {
                    PerSample::$variant(x) => Some(x),
                    _ => None,
                }
            }
        }
    };
}

typed_sample!(f32, F32);
typed_sample!(f64, F64);
